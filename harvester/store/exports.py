"""The rows of a workshop export, streamed straight from one SQL query.

One query with correlated subqueries does all the joining and counting inside SQLite, and the
cursor is iterated rather than fetched, so an export of a million posts never holds more than a
row in Python. Which themes a post has: the editor's (reviews.themes) once the post is reviewed
(a reviews row with a status other than 'nieuw'), else the themes the NLP step assigned.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlite_utils

from ..models import ExportQuery, ExportRow

# a post whose review row says something other than 'nieuw' carries the editor's themes
_REVIEWED = "(r.status IS NOT NULL AND r.status <> 'nieuw')"

# the effective themes of every post, one row per (post, theme), with the model's score for it
_EFFECTIVE_THEMES = """
WITH eff(post_id, theme, score) AS (
    SELECT r.post_id, j.value,
           (SELECT pt.score FROM post_themes pt WHERE pt.post_id = r.post_id AND pt.theme = j.value)
    FROM reviews r, json_each(r.themes) j
    WHERE r.status <> 'nieuw'
    UNION ALL
    SELECT pt.post_id, pt.theme, pt.score FROM post_themes pt
    WHERE pt.assigned AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.post_id = pt.post_id AND r.status <> 'nieuw')
)"""

# one idea per row: its themes (best score first) and the best score among them
_THEMES = f"""CASE WHEN {_REVIEWED}
        THEN (SELECT group_concat(value, ',') FROM json_each(r.themes))
        ELSE (SELECT group_concat(theme, ',') FROM
              (SELECT theme FROM post_themes WHERE post_id = p.id AND assigned ORDER BY theme))
    END"""
_BEST_SCORE = f"""CASE WHEN {_REVIEWED}
        THEN (SELECT max(pt.score) FROM json_each(r.themes) j
              JOIN post_themes pt ON pt.post_id = p.id AND pt.theme = j.value)
        ELSE (SELECT max(score) FROM post_themes WHERE post_id = p.id AND assigned)
    END"""
_HAS_THEME = f"""CASE WHEN {_REVIEWED}
        THEN EXISTS (SELECT 1 FROM json_each(r.themes) WHERE value IN ({{marks}}))
        ELSE EXISTS (SELECT 1 FROM post_themes WHERE post_id = p.id AND assigned AND theme IN ({{marks}}))
    END"""

_SOURCES = """(SELECT group_concat(name, ', ') FROM
        (SELECT s.name FROM sightings g JOIN sources s ON s.id = g.source_id WHERE g.post_id = p.id ORDER BY g.source_id))"""
_DUPLICATES = "(SELECT count(*) FROM reviews d WHERE d.duplicate_of = p.id AND d.status = 'duplicaat')"


class ExportStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def rows(self, query: ExportQuery) -> Iterator[ExportRow]:
        """The rows of an export, oldest first (then by id); with `per_theme` by theme first.

        Duplicates (status 'duplicaat' pointing at another post) are never rows of their own:
        they are counted in their original's `duplicates`.
        """
        sql, params = _sql(query, count=False)
        cursor = self.db.conn.execute(sql, params)
        cursor.arraysize = 1000
        for row in cursor:
            yield ExportRow(row[0], tuple(row[1].split(",")) if row[1] else (), *row[2:])

    def count(self, query: ExportQuery) -> int:
        """How many rows `rows(query)` yields, for a progress display."""
        sql, params = _sql(query, count=True)
        return self.db.conn.execute(sql, params).fetchone()[0]

    def source_names(self) -> list[str]:
        """Names of the sources posts may have been seen on (for checking a --source filter)."""
        return [r[0] for r in self.db.conn.execute("SELECT name FROM sources ORDER BY name")]


def _sql(query: ExportQuery, *, count: bool) -> tuple[str, list[object]]:
    """The one query behind rows() and count(): filters shared, columns only when rows are wanted."""
    where = ["NOT (r.status IS 'duplicaat' AND r.duplicate_of IS NOT NULL)"]
    params: list[object] = []
    if query.statuses:
        where.append(f"coalesce(r.status, 'nieuw') IN ({_marks(query.statuses)})")
        params.extend(query.statuses)
    if query.since is not None:
        where.append("p.published_at >= ?")
        params.append(query.since)
    if query.until is not None:
        where.append("p.published_at < ?")
        params.append(query.until)
    if query.sources:
        where.append(
            "EXISTS (SELECT 1 FROM sightings g JOIN sources s ON s.id = g.source_id"
            f" WHERE g.post_id = p.id AND s.name IN ({_marks(query.sources)}))"
        )
        params.extend(query.sources)
    if query.per_theme:
        head, source = _EFFECTIVE_THEMES, "eff e JOIN posts p ON p.id = e.post_id"
        theme, score, order = "e.theme", "e.score", "e.theme, p.id"
        if query.themes:
            where.append(f"e.theme IN ({_marks(query.themes)})")
            params.extend(query.themes)
    else:
        head, source = "", "posts p"
        theme, score, order = _THEMES, _BEST_SCORE, "p.id"
        if query.themes:
            where.append(_HAS_THEME.format(marks=_marks(query.themes)))
            params.extend([*query.themes, *query.themes])
    columns = "count(*)" if count else f"""p.id, {theme}, p.title, p.text, a.key, a.display_name, {_SOURCES},
        p.url, p.published_at, coalesce(r.status, 'nieuw'), {score}, r.note, {_DUPLICATES}"""
    sql = f"""{head}
        SELECT {columns}
        FROM {source}
        LEFT JOIN reviews r ON r.post_id = p.id
        LEFT JOIN authors a ON a.id = p.author_id
        WHERE {' AND '.join(where)}"""
    return (sql if count else f"{sql}\nORDER BY {order}"), params


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))
