"""NLP verdicts per post, and which posts need (re)classifying."""

from __future__ import annotations

import json

import sqlite_utils

from ..models import Classification
from ..timeutil import utcnow


class ClassificationStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def save(self, post_id: int, result: Classification) -> None:
        """Replace the post's verdict and its per-theme scores."""
        with self.db.atomic():
            self.db.execute(
                "INSERT OR REPLACE INTO classifications"
                " (post_id, model_version, language, is_dutch, confidence, reasons, classified_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [post_id, result.model_version, result.language, int(result.is_dutch), result.confidence,
                 json.dumps(result.reasons, ensure_ascii=False), utcnow()],
            )
            self.db.execute("DELETE FROM post_themes WHERE post_id = ?", [post_id])
            self.db.conn.executemany(
                "INSERT INTO post_themes (post_id, theme, score, assigned) VALUES (?, ?, ?, ?)",
                [(post_id, theme, score, int(theme in result.assigned)) for theme, score in result.scores.items()],
            )

    def pending(self, *, include_all: bool = False, limit: int | None = None) -> list[tuple[int, str]]:
        """(post id, text) of posts never classified or edited since; every post with include_all."""
        where = "" if include_all else "WHERE c.post_id IS NULL OR c.classified_at < p.changed_at"
        sql = f"SELECT p.id, p.text FROM posts p LEFT JOIN classifications c ON c.post_id = p.id {where} ORDER BY p.id"
        return self.db.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
