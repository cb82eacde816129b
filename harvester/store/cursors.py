"""Paging state per (source, tag group): Mastodon's ids, Bluesky's times.

A cursor is only ever written together with the page of posts it points past (the harvest loop
calls `save` inside the transaction that stores the batch), so after a crash the stored cursor
never claims more than the stored posts.
"""

from __future__ import annotations

import sqlite_utils

from ..models import Cursor
from ..timeutil import utcnow


class CursorStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def load(self, source_id: int) -> dict[str, Cursor]:
        """The source's cursors by tag group (e.g. 'innoverheid+lanceerplatform')."""
        rows = self.db.execute(
            "SELECT tag_group, newest_id, backfill_max_id, backfill_done, backfill_since FROM cursors"
            " WHERE source_id = ?", [source_id],
        ).fetchall()
        return {r[0]: Cursor(tag_group=r[0], newest_id=r[1], backfill_max_id=r[2], backfill_done=bool(r[3]),
                             backfill_since=r[4]) for r in rows}

    def save(self, source_id: int, cursor: Cursor) -> None:
        self.db.execute(
            "INSERT INTO cursors (source_id, tag_group, newest_id, backfill_max_id, backfill_done, backfill_since,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source_id, tag_group) DO UPDATE SET"
            " newest_id = excluded.newest_id, backfill_max_id = excluded.backfill_max_id,"
            " backfill_done = excluded.backfill_done, backfill_since = excluded.backfill_since,"
            " updated_at = excluded.updated_at",
            [source_id, cursor.tag_group, cursor.newest_id, cursor.backfill_max_id, int(cursor.backfill_done),
             cursor.backfill_since, utcnow()],
        )
