"""NLP verdicts per post, and which posts need (re)classifying."""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlite_utils

from ..models import Classification
from ..timeutil import utcnow


class ClassificationStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def save(self, post_id: int, result: Classification) -> None:
        """Replace the post's verdict and its per-theme scores."""
        self.save_many([(post_id, result)])

    def save_many(self, verdicts: Sequence[tuple[int, Classification]], classified_at: str | None = None) -> None:
        """Replace the verdicts of many posts in one transaction (executemany: the classify step's hot path).

        `classified_at` should be when the texts were read, so that a post edited while it was being
        classified still counts as stale. Posts deleted in the meantime are skipped, not an error.
        """
        at = classified_at or utcnow()
        exists = "WHERE EXISTS (SELECT 1 FROM posts WHERE id = ?)"
        with self.db.atomic():
            conn = self.db.conn
            conn.executemany(
                "INSERT OR REPLACE INTO classifications"
                " (post_id, model_version, language, is_dutch, confidence, reasons, classified_at)"
                f" SELECT ?, ?, ?, ?, ?, ?, ? {exists}",
                [(post_id, r.model_version, r.language, int(r.is_dutch), r.confidence,
                  json.dumps(r.reasons, ensure_ascii=False), at, post_id) for post_id, r in verdicts],
            )
            conn.executemany("DELETE FROM post_themes WHERE post_id = ?", [(post_id,) for post_id, _ in verdicts])
            conn.executemany(
                f"INSERT INTO post_themes (post_id, theme, score, assigned) SELECT ?, ?, ?, ? {exists}",
                [(post_id, theme, score, int(theme in r.assigned), post_id)
                 for post_id, r in verdicts for theme, score in r.scores.items()],
            )

    def pending(
        self, *, include_all: bool = False, limit: int | None = None, after_id: int = 0
    ) -> list[tuple[int, str]]:
        """(post id, text) of posts never classified or edited since; every post with include_all.

        Ordered by id; pass the last id seen as `after_id` to read the next page.
        """
        stale = "" if include_all else "AND (c.post_id IS NULL OR c.classified_at < p.changed_at)"
        sql = (f"SELECT p.id, p.text FROM posts p LEFT JOIN classifications c ON c.post_id = p.id"
               f" WHERE p.id > ? {stale} ORDER BY p.id")
        return self.db.execute(sql + (f" LIMIT {int(limit)}" if limit else ""), [after_id]).fetchall()

    def count_pending(self, *, include_all: bool = False) -> int:
        if include_all:
            return self.db.execute("SELECT count(*) FROM posts").fetchone()[0]
        return self.db.execute(
            "SELECT count(*) FROM posts p LEFT JOIN classifications c ON c.post_id = p.id"
            " WHERE c.post_id IS NULL OR c.classified_at < p.changed_at"
        ).fetchone()[0]

    def reviewed_examples(self) -> list[tuple[str, list[str]]]:
        """Editors' decisions as training examples: accepted -> the themes they settled on, rejected -> none."""
        rows = self.db.execute(
            "SELECT p.text, r.status, r.themes FROM reviews r JOIN posts p ON p.id = r.post_id"
            " WHERE r.status IN ('geaccepteerd', 'afgewezen') ORDER BY r.post_id"
        ).fetchall()
        return [(text, json.loads(themes) if status == "geaccepteerd" else []) for text, status, themes in rows]
