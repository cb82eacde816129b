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
from dataclasses import asdict, dataclass

import sqlite_utils

from ..hashing import canonical, fingerprint, pseudonym
from ..pseudonyms import PREFIX, Identity, pseudonymous_key
from ..timeutil import utcnow
from .posts import content_digest

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
                f" p.edited_at, a.id, a.key, a.display_name, a.profile_url, a.bot, r.note {_DUE} ORDER BY p.id",
                [cutoff]
            ).fetchall()
            originals: set[int] = set()
            for (post_id, key, url, title, text, content_html, spoiler, links, mentions, edited_at,
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
                # the hash of the words with the name in them would let anyone confirm a guessed author
                tags = [r[0] for r in self.db.execute("SELECT tag FROM post_tags WHERE post_id = ?", [post_id])]
                new["content_hash"] = content_digest(new["title"], new["content_html"], new["text"],
                                                     new["spoiler_text"], tags, edited_at)
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
            # the related-idea index holds the words of the deleted posts too (issue 19)
            self.db.execute("INSERT INTO related_terms_fts(related_terms_fts) VALUES('optimize')")
        self.db.conn.execute("VACUUM")
        self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# --- forget: one author's posts and personal data, everywhere (harvester.forget decides what) ---

REMOVED = "[verwijderd]"   # what a scrubbed note says where it named a forgotten author or quoted a removed post


@dataclass(frozen=True)
class AuthorRow:
    id: int
    key: str
    display_name: str | None
    profile_url: str | None


@dataclass(frozen=True)
class PostText:
    """A post about to be forgotten: what notes might quote from it."""

    id: int
    key: str
    title: str | None
    text: str
    spoiler_text: str | None


@dataclass(frozen=True)
class ForgetPlan:
    """Everything one forget (or opt-out) removes, found beforehand by harvester.forget."""

    posts: list[PostText]
    author_ids: list[int]
    accts: list[str]                  # Mastodon accts (name@host) to drop from other posts' mentions and replies
    author_hashes: list[str]          # keyed fingerprints to suppress (empty without the secret)


@dataclass
class ForgetCounts:
    """What a forget changed, and all the audit trail keeps of it."""

    posts: int = 0
    authors: int = 0
    notes: int = 0                    # reviews.note of other posts scrubbed
    events: int = 0                   # review_events whose before/after note was scrubbed
    mentions: int = 0                 # other posts that no longer list the author in `mentions`
    replies: int = 0                  # other posts whose `in_reply_to` pointed at the author
    suppressions: int = 0             # new author suppressions
    tombstones: int = 0               # new post tombstones


def _canonical_sql(value: str | None) -> str | None:
    return None if value is None else canonical(value)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _status_prefixes(acct: str) -> list[str]:
    """Where a Mastodon account's statuses live: its web URLs and its ActivityPub uris."""
    name, host = acct.split("@", 1)
    return [f"https://{host}/@{name}/", f"https://{host}/users/{name}/statuses/"]


class ForgetStore:
    """The reads and writes of `harvester forget` and of opt-outs; one transaction is the caller's."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        # keys compare the way fingerprints do (NFC, lower-case, also beyond ASCII)
        db.conn.create_function("canonical", 1, _canonical_sql, deterministic=True)

    def suppressed_authors(self) -> frozenset[str]:
        """Keyed fingerprints of authors never to harvest again (forgotten, opted out)."""
        return frozenset(r[0] for r in self.db.execute("SELECT hash FROM suppressions WHERE kind = 'author'"))

    def author_exists(self, keys: list[str]) -> bool:
        """Whether an author row has one of these exact keys (accts are stored canonical)."""
        return self.db.execute(
            "SELECT 1 FROM authors WHERE key IN (SELECT value FROM json_each(?)) LIMIT 1", [json.dumps(keys)]
        ).fetchone() is not None

    def authors_matching(self, keys: set[str]) -> list[AuthorRow]:
        """Authors whose key or profile URL is one of the canonical `keys`."""
        rows = self.db.execute(
            "SELECT id, key, display_name, profile_url FROM authors"
            " WHERE canonical(key) IN (SELECT value FROM json_each(?1))"
            " OR canonical(profile_url) IN (SELECT value FROM json_each(?1)) ORDER BY id",
            [json.dumps(sorted(keys))],
        ).fetchall()
        return [AuthorRow(*r) for r in rows]

    def feed_authors_named(self, name: str) -> list[AuthorRow]:
        """Feed authors stored by name only, `Name (site)`, whatever the site."""
        rows = self.db.execute(
            "SELECT id, key, display_name, profile_url FROM authors"
            " WHERE canonical(display_name) = ? AND canonical(key) LIKE ? ESCAPE '\\' ORDER BY key",
            [canonical(name), _like_prefix(canonical(name) + " (")],
        ).fetchall()
        return [AuthorRow(*r) for r in rows]

    def posts_of(self, author_ids: list[int], accts: list[str]) -> list[PostText]:
        """The authors' posts, and statuses of the accts stored without an author (Mastodon tag feeds)."""
        prefixes = [_like_prefix(p) for acct in accts for p in _status_prefixes(acct)]
        url_match = "".join(" OR key LIKE ? ESCAPE '\\' OR url LIKE ? ESCAPE '\\'" for _ in prefixes)
        rows = self.db.execute(
            "SELECT id, key, title, text, spoiler_text FROM posts"
            f" WHERE author_id IN (SELECT value FROM json_each(?)){url_match} ORDER BY id",
            [json.dumps(author_ids), *(p for p in prefixes for _ in (0, 1))],
        ).fetchall()
        return [PostText(*r) for r in rows]

    def apply(self, plan: ForgetPlan, scrub: Callable[[str], str], *, reason: str) -> ForgetCounts:
        """Remove what `plan` found, scrub notes with `scrub`, suppress, and record counts only.

        Notes on the forgotten posts themselves go entirely (in the audit trail they outlive the
        post); notes elsewhere lose only what `scrub` finds. Other posts keep their text, but no
        longer list the author as a mention or as the post they answer.
        """
        counts = ForgetCounts(posts=len(plan.posts), authors=len(plan.author_ids))
        now = utcnow()
        ids = json.dumps([p.id for p in plan.posts])
        counts.notes, counts.events = self.scrub_notes({p.id for p in plan.posts}, scrub)
        counts.tombstones = self.db.conn.executemany(
            "INSERT OR IGNORE INTO suppressions (hash, kind, reason, created_at) VALUES (?, 'post', ?, ?)",
            [(fingerprint(p.key), reason, now) for p in plan.posts],
        ).rowcount
        self.db.execute("DELETE FROM posts WHERE id IN (SELECT value FROM json_each(?))", [ids])
        self.db.execute("DELETE FROM authors WHERE id IN (SELECT value FROM json_each(?))",
                        [json.dumps(plan.author_ids)])
        accts = json.dumps(sorted(plan.accts))
        counts.mentions = self.db.execute(
            "UPDATE posts SET mentions = (SELECT json_group_array(value) FROM json_each(posts.mentions)"
            "   WHERE lower(value) NOT IN (SELECT value FROM json_each(?1)))"
            " WHERE EXISTS (SELECT 1 FROM json_each(posts.mentions) WHERE lower(value) IN (SELECT value FROM json_each(?1)))",
            [accts],
        ).rowcount
        prefixes = [_like_prefix(p) for acct in plan.accts for p in _status_prefixes(acct)]
        counts.replies = self.db.execute(
            "UPDATE posts SET in_reply_to = NULL WHERE in_reply_to IN (SELECT value FROM json_each(?))"
            + "".join(" OR in_reply_to LIKE ? ESCAPE '\\'" for _ in prefixes),
            [json.dumps([p.key for p in plan.posts]), *prefixes],
        ).rowcount
        counts.suppressions = self.db.conn.executemany(
            "INSERT OR IGNORE INTO suppressions (hash, kind, reason, created_at) VALUES (?, 'author', ?, ?)",
            [(h, reason, now) for h in plan.author_hashes],
        ).rowcount
        self.db.execute(
            "INSERT INTO review_events (post_id, user_id, actor, at, action, before, after)"
            " VALUES (NULL, NULL, 'system', ?, ?, NULL, ?)",
            [now, reason, json.dumps(asdict(counts))],
        )
        return counts

    def post_texts(self, post_ids: list[int]) -> list[PostText]:
        rows = self.db.execute(
            "SELECT id, key, title, text, spoiler_text FROM posts WHERE id IN (SELECT value FROM json_each(?))"
            " ORDER BY id", [json.dumps(post_ids)]).fetchall()
        return [PostText(*r) for r in rows]

    def scrub_notes(self, gone: set[int], scrub: Callable[[str], str]) -> tuple[int, int]:
        """Scrub editors' notes before the posts in `gone` are deleted: (reviews, review_events) changed.

        Call it before deleting: the audit trail knows which events were about those posts only
        while they exist. Their own reviews go with them by cascade.
        """
        notes = 0
        for post_id, note in self.db.execute(
                "SELECT post_id, note FROM reviews WHERE note IS NOT NULL"
                " AND post_id NOT IN (SELECT value FROM json_each(?))", [json.dumps(sorted(gone))]).fetchall():
            cleaned = scrub(note)
            if cleaned != note:
                self.db.execute("UPDATE reviews SET note = ? WHERE post_id = ?", [cleaned, post_id])
                notes += 1
        return notes, self._scrub_events(gone, scrub)

    def _scrub_events(self, gone: set[int], scrub: Callable[[str], str]) -> int:
        """Notes in the audit trail: blanked on the posts in `gone`, scrubbed everywhere else."""
        changed = 0
        rows = self.db.execute(
            "SELECT id, post_id, before, after FROM review_events"
            " WHERE json_extract(before, '$.note') IS NOT NULL OR json_extract(after, '$.note') IS NOT NULL"
        ).fetchall()
        for event_id, post_id, *states in rows:
            new, modified = [], False
            for state in states:
                data = json.loads(state) if state else None
                if isinstance(data, dict) and isinstance(data.get("note"), str):
                    note = REMOVED if post_id in gone else scrub(data["note"])
                    if note != data["note"]:
                        data["note"], modified = note, True
                        state = json.dumps(data, ensure_ascii=False)
                new.append(state)
            if modified:
                self.db.execute("UPDATE review_events SET before = ?, after = ? WHERE id = ?", [*new, event_id])
                changed += 1
        return changed
