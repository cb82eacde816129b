"""Sources as the database knows them: identity, current URL and conditional-GET state."""

from __future__ import annotations

import sqlite_utils

from ..models import SourceRow, site_key, site_of
from ..timeutil import utcnow


class SourceStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def sync(self, name: str, type: str, configured_url: str) -> SourceRow:
        """Make sure a configured source has its row; a changed URL in the config starts afresh.

        A URL on the site that a permanent redirect already led this source to also renames the keys
        that name the old site (see `_move_site_keys`), in the same transaction, so that no run sees
        the source moved and its posts not. Without that evidence the new URL may be another site
        that reuses the source's name, whose entry 7 is not the old site's entry 7: the old keys stay,
        and at worst entries are stored once more.
        """
        row = self.get(name)
        if row is None:
            self.db.execute(
                "INSERT INTO sources (name, type, configured_url, url, created_at) VALUES (?, ?, ?, ?, ?)",
                [name, type, configured_url, configured_url, utcnow()],
            )
        elif row.configured_url != configured_url or row.type != type:
            with self.db.atomic():
                # the administrator pointed the source elsewhere: forget redirect, 410 and cache state
                self.db.execute(
                    "UPDATE sources SET type = ?, configured_url = ?, url = ?, etag = NULL, last_modified = NULL,"
                    " gone_at = NULL, auth_required = 0 WHERE id = ?",
                    [type, configured_url, configured_url, row.id],
                )
                old_site, new_site = site_of(row.configured_url), site_of(configured_url)
                if old_site != new_site and site_of(row.url) == new_site:
                    self._move_site_keys(row.id, old_site, new_site)
        return self.get(name)  # type: ignore[return-value]

    def _move_site_keys(self, source_id: int, old_site: str, new_site: str) -> None:
        """Give the feed posts that only this source has seen, keyed `id (old site)`, the key
        `id (new site)` that its entries get from now on, so that they are not stored a second time.

        A post that other sources saw too keeps its key: they still name it so. So does a post whose
        new key another row already has (the source was here before): the entry finds that row.
        """
        old_end, new_end = site_key("", old_site), site_key("", new_site)
        self.db.execute(
            "UPDATE posts SET key = substr(key, 1, length(key) - length(:old)) || :new"
            " WHERE kind = 'feed' AND substr(key, -length(:old)) = :old"
            " AND id IN (SELECT post_id FROM sightings GROUP BY post_id"
            "            HAVING min(source_id) = :source AND max(source_id) = :source)"
            " AND NOT EXISTS (SELECT 1 FROM posts taken"
            "                 WHERE taken.key = substr(posts.key, 1, length(posts.key) - length(:old)) || :new)",
            {"old": old_end, "new": new_end, "source": source_id},
        )

    def names(self) -> list[str]:
        """Every source posts may have been seen on, configured now or before, by name."""
        return [r[0] for r in self.db.execute("SELECT name FROM sources ORDER BY name")]

    def get(self, name: str) -> SourceRow | None:
        row = self.db.execute(
            "SELECT id, name, type, configured_url, url, etag, last_modified, gone_at, auth_required,"
            " ratelimit_remaining, ratelimit_reset FROM sources WHERE name = ?",
            [name],
        ).fetchone()
        return SourceRow(*row[:8], bool(row[8]), *row[9:]) if row else None

    def set_cache_validators(self, source_id: int, etag: str | None, last_modified: str | None) -> None:
        self.db.execute(
            "UPDATE sources SET etag = ?, last_modified = ? WHERE id = ?", [etag, last_modified, source_id]
        )

    def set_url(self, source_id: int, url: str) -> None:
        """A permanent redirect moves the source for good."""
        self.db.execute("UPDATE sources SET url = ? WHERE id = ?", [url, source_id])

    def mark_gone(self, source_id: int) -> None:
        self.db.execute("UPDATE sources SET gone_at = ? WHERE id = ?", [utcnow(), source_id])

    def set_auth_required(self, source_id: int, required: bool) -> None:
        self.db.execute("UPDATE sources SET auth_required = ? WHERE id = ?", [int(required), source_id])

    def set_ratelimit(self, source_id: int, remaining: int | None, reset: str | None) -> None:
        self.db.execute(
            "UPDATE sources SET ratelimit_remaining = ?, ratelimit_reset = ? WHERE id = ?",
            [remaining, reset, source_id],
        )
