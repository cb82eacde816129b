"""Retention: posts no editor accepted are removed after `[privacy] retention_days`.

Removal must really remove: rows go (tags, sightings, classifications, theme scores and reviews by
cascade, the full-text entries by trigger), the FTS index is merged so no old segment still holds
the words, and VACUUM rewrites the file so no free page does either (secure_delete zeroes what it
can; VACUUM covers the rest).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass

import sqlite_utils

from ..hashing import canonical, fingerprint
from ..timeutil import utcnow

# never accepted: no review at all, or a review with any other status
_EXPIRED = (
    "SELECT p.id FROM posts p LEFT JOIN reviews r ON r.post_id = p.id"
    " WHERE p.first_seen_at < ? AND (r.status IS NULL OR r.status != 'geaccepteerd') ORDER BY p.id"
)


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
            self.db.execute(
                "INSERT INTO review_events (post_id, user_id, actor, at, action, before, after)"
                " VALUES (NULL, NULL, 'system', ?, 'purge', NULL, ?)",
                [utcnow(), json.dumps({"count": len(ids)})],
            )
        if ids:
            self.compact()
        return ids

    def compact(self) -> None:
        """Merge the FTS index, rewrite the file and empty the WAL, so deleted text is nowhere on disk."""
        with self.db.atomic():
            self.db.execute("INSERT INTO posts_fts(posts_fts) VALUES('optimize')")
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
