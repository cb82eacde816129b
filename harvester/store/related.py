"""Related ideas: each post's terms (harvester.nlp.related) and the FTS5 index over them.

The store keeps the terms and finds candidates: the posts that share the most of a post's rarer
terms (FTS5's bm25), by other authors, not rejected and no duplicate. harvester.related ranks them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlite_utils

from ..timeutil import utcnow


def fts_terms(terms: Sequence[str]) -> str:
    """Terms as an FTS5 query matching any of them, each quoted (never a syntax error)."""
    return " OR ".join('"' + t.replace('"', "") + '"' for t in terms if t.replace('"', ""))


class RelatedStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def pending(self, *, limit: int, after_id: int = 0) -> list[tuple[int, str]]:
        """(post id, title and text) of posts without terms or changed since, in id order."""
        return self.db.execute(
            "SELECT p.id, coalesce(p.title || char(10), '') || p.text FROM posts p"
            " LEFT JOIN related_terms t ON t.post_id = p.id"
            " WHERE p.id > ? AND (t.post_id IS NULL OR t.indexed_at < p.changed_at) ORDER BY p.id LIMIT ?",
            [after_id, int(limit)]).fetchall()

    def count_pending(self) -> int:
        return self.db.execute(
            "SELECT count(*) FROM posts p LEFT JOIN related_terms t ON t.post_id = p.id"
            " WHERE t.post_id IS NULL OR t.indexed_at < p.changed_at").fetchone()[0]

    def save_many(self, rows: Sequence[tuple[int, list[str]]], indexed_at: str | None = None) -> None:
        """Replace the terms of these posts in one transaction; posts deleted meanwhile are skipped."""
        at = indexed_at or utcnow()
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT INTO related_terms (post_id, terms, indexed_at) SELECT ?, ?, ? WHERE EXISTS"
                " (SELECT 1 FROM posts WHERE id = ?) ON CONFLICT (post_id) DO UPDATE SET"
                " terms = excluded.terms, indexed_at = excluded.indexed_at",
                [(post_id, json.dumps(terms, ensure_ascii=False), at, post_id) for post_id, terms in rows])

    def terms(self, post_ids: Sequence[int]) -> dict[int, list[str]]:
        if not post_ids:
            return {}
        return {post_id: json.loads(terms) for post_id, terms in self.db.execute(
            "SELECT post_id, terms FROM related_terms WHERE post_id IN (SELECT value FROM json_each(?))",
            [json.dumps(list(post_ids))])}

    def indexed(self) -> int:
        return self.db.execute("SELECT count(*) FROM related_terms").fetchone()[0]

    def document_frequency(self, terms: Sequence[str]) -> dict[str, int]:
        """term -> posts holding it, for the terms the index knows."""
        if not terms:
            return {}
        return dict(self.db.execute(
            "SELECT term, posts FROM related_vocab WHERE term IN (SELECT value FROM json_each(?))",
            [json.dumps(list(terms), ensure_ascii=False)]).fetchall())

    def candidates(self, post_id: int, terms: Sequence[str], limit: int) -> list[int]:
        """Posts sharing the most of `terms` (best bm25 first): by another author than `post_id`'s,
        not rejected, not a duplicate, and not in `post_id`'s group."""
        query = fts_terms(terms)
        if not query:
            return []
        return [r[0] for r in self.db.execute(
            """
            WITH me AS (SELECT p.author_id, m.group_id FROM posts p
                        LEFT JOIN idea_group_members m ON m.post_id = p.id WHERE p.id = :post)
            SELECT f.rowid FROM related_terms_fts f
                JOIN posts p ON p.id = f.rowid
                LEFT JOIN reviews r ON r.post_id = p.id
                LEFT JOIN idea_group_members m ON m.post_id = p.id
            WHERE related_terms_fts MATCH :query AND f.rowid <> :post
              AND (p.author_id IS NULL OR p.author_id IS NOT (SELECT author_id FROM me))
              AND coalesce(r.status, 'nieuw') NOT IN ('afgewezen', 'duplicaat')
              AND (m.group_id IS NULL OR m.group_id IS NOT (SELECT group_id FROM me))
            ORDER BY f.rank LIMIT :limit""",
            {"post": post_id, "query": query, "limit": int(limit)})]
