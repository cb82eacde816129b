"""Retention: posts no editor accepted are removed after `[privacy] retention_days`; accepted ones
lose their author (a pseudonym instead) after `[privacy] pseudonymize_accepted_after_days`.

Removal must really remove: rows go (tags, sightings, classifications, theme scores and reviews by
cascade, the full-text entries by trigger), the FTS index is merged so no old segment still holds
the words, and VACUUM rewrites the file so no free page does either (secure_delete zeroes what it
can; VACUUM covers the rest). The caller compacts (`compact`) once after purging and pseudonymising,
so a day's work costs one VACUUM.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from ..hashing import fingerprint, pseudonym
from ..pseudonyms import PREFIX, Identity, pseudonymous_key
from ..timeutil import utcnow

# never accepted: no review at all, or a review with any other status
_EXPIRED = (
    "SELECT p.id FROM posts p LEFT JOIN reviews r ON r.post_id = p.id"
    " WHERE p.first_seen_at < ? AND (r.status IS NULL OR r.status != 'geaccepteerd') ORDER BY p.id"
)
# accepted, old, and still under their original key (a pseudonymised post's key starts with PREFIX)
_DUE = (
    "FROM posts p JOIN reviews r ON r.post_id = p.id LEFT JOIN authors a ON a.id = p.author_id"
    f" WHERE r.status = 'geaccepteerd' AND p.first_seen_at < ? AND substr(p.key, 1, {len(PREFIX)}) != '{PREFIX}'"
)


@dataclass(frozen=True)
class Pseudonymized:
    """Accepted posts that got (or, in a dry run, would get) a pseudonym instead of their author."""

    posts: list[int]
    authors: int          # distinct original authors among them (posts without an author not counted)


class PrivacyStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def expired_posts(self, cutoff: str) -> list[int]:
        """Ids of posts first seen before `cutoff` (ISO 8601 UTC) that no editor accepted."""
        return [r[0] for r in self.db.execute(_EXPIRED, [cutoff])]

    def purge(self, cutoff: str) -> list[int]:
        """Delete the expired posts and authors left without posts; returns the ids removed.

        One audit event records the count only: the trail must not keep what was purged.
        """
        with self.db.atomic():
            ids = self.expired_posts(cutoff)
            self.db.execute(
                "DELETE FROM posts WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(ids)])
            self.db.execute(
                "DELETE FROM authors WHERE NOT EXISTS (SELECT 1 FROM posts WHERE posts.author_id = authors.id)")
            self._audit("purge", {"count": len(ids)})
        return ids

    def due_for_pseudonym(self, cutoff: str) -> Pseudonymized:
        """Accepted posts first seen before `cutoff` that still carry their author (what a dry run shows)."""
        rows = self.db.execute(f"SELECT p.id, a.key {_DUE} ORDER BY p.id", [cutoff]).fetchall()
        return Pseudonymized([r[0] for r in rows], len({r[1] for r in rows if r[1] is not None}))

    def pseudonymize(self, cutoff: str, secret: bytes) -> Pseudonymized:
        """Give the accepted posts first seen before `cutoff` a pseudonym instead of their author.

        Per post, in one transaction for all: the author becomes the pseudonym row of that author
        (key and name by the convention in harvester.pseudonyms, no profile URL), shared by all their
        pseudonymised posts, while their other posts keep the original row; the original row goes
        once no post uses it. The post key becomes a keyed hash and tombstones (the plain
        fingerprints of the old key and addresses, reason 'pseudonymized') keep a new harvest from
        storing the post again; the post's addresses, reply link and status ids go; the author's
        name, acct, @handle and addresses in title, text, HTML, content warning, links, mentions and
        the editor's note (also in the post's audit events) become the pseudonym. An edited text
        loses the model's reasons (they may quote the name) and counts as changed, so the next
        classification redoes them. One audit event holds the counts only.
        """
        now = utcnow()
        with self.db.atomic():
            rows = self.db.execute(
                "SELECT p.id, p.key, p.url, p.title, p.text, p.content_html, p.spoiler_text, p.links, p.mentions,"
                f" a.id, a.key, a.display_name, a.profile_url, a.bot, r.note {_DUE} ORDER BY p.id", [cutoff]
            ).fetchall()
            originals: set[int] = set()
            for (post_id, key, url, title, text, content_html, spoiler, links, mentions,
                 author_id, author_key, display_name, profile_url, bot, note) in rows:
                sighted = [r[0] for r in self.db.execute(
                    "SELECT url FROM sightings WHERE post_id = ? AND url IS NOT NULL", [post_id])]
                identity = Identity(author_key, display_name, profile_url, tuple(u for u in (key, url, *sighted) if u))
                # a post without an author gets a pseudonym of its own: an unknown participant
                name = pseudonym(secret, author_key or key)
                scrub = identity.scrubber(name)
                new_author = None
                if author_id is not None:
                    originals.add(author_id)
                    new_author = self._pseudonym_author(pseudonymous_key(secret, author_key), name, bot, now)
                own = {m.lower() for m in (author_key, identity.handle) if m}
                new = {
                    "key": self._free_key(pseudonymous_key(secret, key), post_id), "url": None, "in_reply_to": None,
                    "author_id": new_author, "title": scrub(title) if title else title, "text": scrub(text),
                    "content_html": scrub(content_html), "spoiler_text": scrub(spoiler) if spoiler else spoiler,
                    "links": json.dumps([link for link in json.loads(links) if scrub(link) == link]),
                    "mentions": json.dumps([name if m.lower() in own else m for m in json.loads(mentions)]),
                }
                if (new["title"], new["text"]) != (title, text):
                    # the model's reasons may quote the name: gone now, redone by the next classification
                    new["changed_at"] = now
                    self.db.execute("UPDATE classifications SET reasons = '{}' WHERE post_id = ?", [post_id])
                assignments = ", ".join(f"{column} = ?" for column in new)
                self.db.execute(f"UPDATE posts SET {assignments} WHERE id = ?", [*new.values(), post_id])
                self.db.execute("UPDATE sightings SET url = NULL, remote_id = NULL WHERE post_id = ?", [post_id])
                if note:
                    self.db.execute("UPDATE reviews SET note = ? WHERE post_id = ?", [scrub(note), post_id])
                    self._scrub_event_notes(post_id, scrub)
                # the address too: a Mastodon tag feed names a status by its URL, not its uri
                self.db.conn.executemany(
                    "INSERT OR IGNORE INTO suppressions (hash, kind, reason, created_at)"
                    " VALUES (?, 'post', 'pseudonymized', ?)",
                    [(fingerprint(address), now) for address in {key, url, *sighted} if address])
            self.db.execute(
                "DELETE FROM authors WHERE id IN (SELECT value FROM json_each(?))"
                " AND NOT EXISTS (SELECT 1 FROM posts WHERE posts.author_id = authors.id)",
                [json.dumps(sorted(originals))])
            result = Pseudonymized([r[0] for r in rows], len(originals))
            if rows:
                self._audit("pseudonymize", {"posts": len(result.posts), "authors": result.authors})
        return result

    def _scrub_event_notes(self, post_id: int, scrub: Callable[[str], str]) -> None:
        """The notes in the post's audit events: the one place the trail is rewritten, as the name must go."""
        for event_id, *states in self.db.execute(
                "SELECT id, before, after FROM review_events WHERE post_id = ?", [post_id]).fetchall():
            scrubbed = []
            for state in states:
                value = json.loads(state) if state else None
                if isinstance(value, dict) and isinstance(value.get("note"), str):
                    value["note"] = scrub(value["note"])
                scrubbed.append(state if value is None else json.dumps(value, ensure_ascii=False))
            if scrubbed != states:
                self.db.execute("UPDATE review_events SET before = ?, after = ? WHERE id = ?", [*scrubbed, event_id])

    def pseudonymize_failed(self, due: int, error: str) -> None:
        """Record that `due` posts should have been pseudonymised but were not (`error`: no names in it)."""
        with self.db.atomic():
            self._audit("pseudonymize", {"posts": 0, "authors": 0, "due": due, "error": error})

    def last_purge(self) -> dict | None:
        """The latest purge and pseudonymisation events, for `harvester status` (None: never purged)."""
        events = {action: (event_id, at, json.loads(after)) for action, event_id, at, after in self.db.execute(
            "SELECT action, max(id), at, after FROM review_events WHERE action IN ('purge', 'pseudonymize')"
            " AND post_id IS NULL GROUP BY action")}
        if "purge" not in events:
            return None
        purge_id, at, counts = events["purge"]
        result = {"at": at, "deleted": counts["count"], "pseudonymized_at": None, "pseudonymized": 0, "error": None}
        if "pseudonymize" in events:
            event_id, at, counts = events["pseudonymize"]
            if counts.get("error"):
                # a failure counts only while no later purge ran (the events of one run follow each other)
                if event_id > purge_id:
                    result["error"] = f"{counts['due']} posts niet gepseudonimiseerd: {counts['error']}"
            else:
                result.update(pseudonymized_at=at, pseudonymized=counts["posts"])
        return result

    def _pseudonym_author(self, key: str, name: str, bot: int, now: str) -> int:
        self.db.execute(
            "INSERT INTO authors (key, display_name, profile_url, bot, pseudonymized_at) VALUES (?, ?, NULL, ?, ?)"
            " ON CONFLICT (key) DO NOTHING", [key, name, bot, now])
        return self.db.execute("SELECT id FROM authors WHERE key = ?", [key]).fetchone()[0]

    def _free_key(self, key: str, post_id: int) -> str:
        """`key`, or `key:id` in the rare case that two original keys differ only in case."""
        taken = self.db.execute("SELECT 1 FROM posts WHERE key = ? AND id != ?", [key, post_id]).fetchone()
        return f"{key}:{post_id}" if taken else key

    def _audit(self, action: str, counts: dict) -> None:
        self.db.execute(
            "INSERT INTO review_events (post_id, user_id, actor, at, action, before, after)"
            " VALUES (NULL, NULL, 'system', ?, ?, NULL, ?)",
            [utcnow(), action, json.dumps(counts)],
        )

    def compact(self) -> None:
        """Merge the FTS index, rewrite the file and empty the WAL, so deleted text is nowhere on disk."""
        with self.db.atomic():
            self.db.execute("INSERT INTO posts_fts(posts_fts) VALUES('optimize')")
        self.db.conn.execute("VACUUM")
        self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
