"""The rows of a workshop export, streamed from one SQL query.

One query per export joins what a row needs (the post, its author, its review, its themes, the
sources it was seen on, how many duplicates point at it) and the cursor is iterated, never
fetched whole, so memory stays flat however large the export. The store hands out what is
stored; harvester.export turns it into cells (names, Dutch time, pseudonyms, cleaning, defusing).

A post's themes in an export: the editor's, in their order and each once, once the post is
reviewed (a status other than 'nieuw'); else the themes the model assigned, in theme order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence

import sqlite_utils

from ..models import ExportQuery, ExportRow

# one row per (post, theme) a post has in an export, `position` its place in the editor's list
# (0 for the model's), with the model's score for that theme
_THEMES = """
WITH themes(post_id, position, theme, score) AS (
    SELECT r.post_id, j.key, j.value,
           (SELECT pt.score FROM post_themes pt WHERE pt.post_id = r.post_id AND pt.theme = j.value)
    FROM reviews r, json_each(r.themes) j
    WHERE r.status <> 'nieuw' AND j.key = (SELECT min(k.key) FROM json_each(r.themes) k WHERE k.value = j.value)
    UNION ALL
    SELECT pt.post_id, 0, pt.theme, pt.score FROM post_themes pt
    WHERE pt.assigned AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.post_id = pt.post_id AND r.status <> 'nieuw')
)"""


class ExportStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def rows(self, query: ExportQuery) -> Iterator[ExportRow]:
        """The stored rows of an export, in id order (with `per_theme` by theme first).

        Duplicates (status 'duplicaat' pointing at another post) are counted in their original's
        `duplicates`, and are rows of their own only with `query.duplicates`.
        """
        if query.per_theme:
            themes, score = "t.theme", "t.score"
        else:
            themes = ("(SELECT group_concat(theme, ',') FROM (SELECT theme FROM themes t"
                      " WHERE t.post_id = p.id ORDER BY t.position, t.theme))")
            score = "(SELECT max(score) FROM themes t WHERE t.post_id = p.id)"
        columns = f"""p.id, coalesce({themes}, ''), round({score}, 3), p.title, p.text, a.key, a.display_name, a.handle,
            coalesce((SELECT group_concat(name, ', ') FROM (SELECT s.name FROM sightings g
                      JOIN sources s ON s.id = g.source_id WHERE g.post_id = p.id ORDER BY g.source_id)), ''),
            p.url, p.published_at, coalesce(r.status, 'nieuw'), r.note,
            (SELECT count(*) FROM reviews d WHERE d.duplicate_of = p.id AND d.status = 'duplicaat'),
            (SELECT m.group_id || ':' || (SELECT group_concat(post_id, ',') FROM (SELECT o.post_id FROM idea_group_members o
                 WHERE o.group_id = m.group_id ORDER BY o.post_id)) FROM idea_group_members m WHERE m.post_id = p.id)"""
        sql, params = _filtered(query, columns)
        cursor = self.db.conn.execute(sql, params)
        cursor.arraysize = 1000
        for row in cursor:
            yield ExportRow(*row)

    def count(self, query: ExportQuery) -> int:
        """How many rows `rows(query)` yields, for a progress display."""
        sql, params = _filtered(query, "count(*)")
        return self.db.conn.execute(sql, params).fetchone()[0]



def _filtered(query: ExportQuery, columns: str) -> tuple[str, dict[str, object]]:
    """The query behind rows() and count(): the filters shared, the columns given; one row per
    post, or with `per_theme` per post and theme."""
    where = [] if query.duplicates else ["NOT (r.status IS 'duplicaat' AND r.duplicate_of IS NOT NULL)"]
    params: dict[str, object] = {}
    if query.statuses:
        where.append(f"coalesce(r.status, 'nieuw') IN ({_marks('status', query.statuses, params)})")
    if query.since is not None:
        where.append("p.published_at >= :since")
        params["since"] = query.since
    if query.until is not None:
        where.append("p.published_at < :until")
        params["until"] = query.until
    if query.sources:
        where.append(
            "EXISTS (SELECT 1 FROM sightings g JOIN sources s ON s.id = g.source_id"
            f" WHERE g.post_id = p.id AND s.name IN ({_marks('source', query.sources, params)}))"
        )
    if query.per_theme:
        source, order = "themes t JOIN posts p ON p.id = t.post_id", "t.theme, p.id"
        if query.themes:
            where.append(f"t.theme IN ({_marks('theme', query.themes, params)})")
    else:
        source, order = "posts p", "p.id"
        if query.themes:
            where.append("EXISTS (SELECT 1 FROM themes t WHERE t.post_id = p.id"
                         f" AND t.theme IN ({_marks('theme', query.themes, params)}))")
    sql = f"""{_THEMES}
        SELECT {columns}
        FROM {source}
        LEFT JOIN reviews r ON r.post_id = p.id
        LEFT JOIN authors a ON a.id = p.author_id
        WHERE {' AND '.join(where) or 'true'}
        ORDER BY {order}"""
    return sql, params


def _marks(name: str, values: Sequence[object], params: dict[str, object]) -> str:
    """Named parameters for `values` (added to `params`), as the list inside IN (...)."""
    for n, value in enumerate(values):
        params[f"{name}{n}"] = value
    return ", ".join(f":{name}{n}" for n in range(len(values)))




def refresh_themes(conn: sqlite3.Connection, post_ids: Sequence[int] | None) -> None:
    """Nothing to do since migration 4 dropped the kept export cells: an export reads a post's
    themes from post_themes and reviews. Only store/classifications.py still calls it (that module
    is being reworked on another branch); remove this together with that call."""
