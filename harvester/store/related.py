"""Related ideas: each post's terms (harvester.nlp.related) and the FTS5 index over them.

The store keeps the terms and finds candidates: the posts that share the most of a post's rarer
terms (FTS5's bm25), by other authors, not rejected and no duplicate. harvester.related ranks them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import sqlite_utils

from .posts import PostText

# terms are current while they were made from the post's current change
_PENDING = "(t.post_id IS NULL OR t.post_changed_at <> p.changed_at)"


def fts_terms(terms: Sequence[str]) -> str:
    """Terms as an FTS5 query matching any of them, each quoted (never a syntax error)."""
    return " OR ".join('"' + t.replace('"', "") + '"' for t in terms if t.replace('"', ""))


class RelatedStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def pending(self, *, limit: int, after_id: int = 0) -> list[PostText]:
        """Posts without terms or changed since, in id order, with their title before the text."""
        rows = self.db.execute(
            "SELECT p.id, coalesce(p.title || char(10), '') || p.text, p.changed_at FROM posts p"
            f" LEFT JOIN related_terms t ON t.post_id = p.id WHERE p.id > ? AND {_PENDING} ORDER BY p.id LIMIT ?",
            [after_id, int(limit)]).fetchall()
        return [PostText(*row) for row in rows]

    def count_pending(self) -> int:
        return self.db.execute(
            f"SELECT count(*) FROM posts p LEFT JOIN related_terms t ON t.post_id = p.id WHERE {_PENDING}").fetchone()[0]

    def save_many(self, rows: Sequence[tuple[int, list[str]]], seen: Mapping[int, str] | None = None) -> None:
        """Replace the terms of these posts in one transaction; posts deleted meanwhile are skipped.
        `seen`: per post the `changed_at` of the text the terms came from (`pending`), so a post
        edited after it was read stays pending; a post not in it is taken as it is now."""
        seen = seen or {}
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT INTO related_terms (post_id, terms, post_changed_at)"
                " SELECT ?, ?, coalesce(?, changed_at) FROM posts WHERE id = ?"
                " ON CONFLICT (post_id) DO UPDATE SET terms = excluded.terms, post_changed_at = excluded.post_changed_at",
                [(post_id, json.dumps(terms, ensure_ascii=False), seen.get(post_id), post_id) for post_id, terms in rows])

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
