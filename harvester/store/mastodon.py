"""Reads and writes for Mastodon and Bluesky posts: tombstones of deleted posts, and what the recheck looks at."""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from ..timeutil import utcnow
from .groups import GroupStore


@dataclass(frozen=True)
class DeletedPost:
    """A post its author deleted, as harvester.privacy decided to remove it."""

    post_id: int
    addresses: list[str]      # its web addresses besides its key (a tag feed's copy goes by one)
    tombstones: list[str]     # fingerprints of its key (first) and of each address, never to harvest again


@dataclass(frozen=True)
class Sighting:
    """A stored Mastodon or Bluesky post as one source knows it: what the recheck asks that source about."""

    post_id: int
    key: str              # the status uri (Bluesky: the at:// uri)
    source_id: int
    remote_id: str        # the status id on that instance (Bluesky: the at:// uri)
    edited_at: str | None  # as stored: a newer edit on the instance updates the post


class MastodonStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def sightings_since(self, since: str) -> list[Sighting]:
        """Mastodon and Bluesky posts published at or after `since` (ISO 8601 UTC), one row per source they were seen on."""
        rows = self.db.execute(
            "SELECT p.id, p.key, g.source_id, g.remote_id, p.edited_at FROM posts p JOIN sightings g ON g.post_id = p.id"
            " WHERE p.kind IN ('mastodon', 'bluesky') AND g.remote_id IS NOT NULL"
            " AND coalesce(p.published_at, p.first_seen_at) >= ? ORDER BY p.id, g.source_id",
            [since],
        ).fetchall()
        return [Sighting(*r) for r in rows]

    def addresses(self, post_id: int, key: str) -> list[str]:
        """The web addresses a stored post is known by besides its key: its own and those of its
        sightings (a tag feed names a status by its address)."""
        row = self.db.execute("SELECT url FROM posts WHERE id = ?", [post_id]).fetchone()
        if row is None:
            return []
        found = {row[0], *(r[0] for r in self.db.execute("SELECT url FROM sightings WHERE post_id = ?", [post_id]))}
        return sorted(found - {None, key})

    def delete_at_source(self, plan: DeletedPost, source_names: list[str]) -> None:
        """A post its author deleted: remove it and its author's data, keep only its tombstones.

        The post row goes (its tags, sightings, classification and review go with it by cascade, the
        full-text index by trigger), and so does a tag feed's copy stored under one of its
        addresses; the author goes too when no other post of theirs is kept, and a group of ideas
        goes when it is left with one post. The tombstones
        (harvester.privacy decides them) keep a later harvest from bringing it back; the audit
        trail records that it happened, without the text or the author.
        """
        now = utcnow()
        with self.db.atomic():
            row = self.db.execute("SELECT author_id FROM posts WHERE id = ?", [plan.post_id]).fetchone()
            if row is None:
                return
            self.db.execute("DELETE FROM posts WHERE id = ?", [plan.post_id])
            # a tag feed's copy stored before such copies became sightings (migration 3) goes too
            self.db.execute("DELETE FROM posts WHERE kind = 'feed' AND key IN (SELECT value FROM json_each(?))",
                            [json.dumps(plan.addresses)])
            GroupStore(self.db).dissolve_lone()
            if row[0] is not None:
                self.db.execute(
                    "DELETE FROM authors WHERE id = ? AND NOT EXISTS (SELECT 1 FROM posts WHERE author_id = ?)",
                    [row[0], row[0]],
                )
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO suppressions (hash, kind, reason, created_at) VALUES (?, 'post', 'deleted', ?)",
                [(tombstone, now) for tombstone in plan.tombstones],
            )
            self.db.execute(
                "INSERT INTO review_events (post_id, user_id, actor, at, action, before, after)"
                " VALUES (NULL, NULL, 'system', ?, 'deleted_at_source', NULL, ?)",
                [now, json.dumps({"tombstone": plan.tombstones[0], "sources": sorted(source_names)})],
            )
