"""Retention: posts no editor accepted are removed after `[privacy] retention_days`.

Removal must really remove: rows go (tags, sightings, classifications, theme scores and reviews by
cascade, the full-text entries by trigger), the FTS index is merged so no old segment still holds
the words, and VACUUM rewrites the file so no free page does either (secure_delete zeroes what it
can; VACUUM covers the rest).
"""

from __future__ import annotations

import json

import sqlite_utils

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
