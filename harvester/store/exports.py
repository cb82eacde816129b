"""The rows of a workshop export, made by one SQL query: cells for XLSX, finished CSV lines for CSV.

SQLite does the joining, counting and the per-cell work (labels, defusing, quoting) in C, so a
million rows cost Python little more than one `write` per thousand lines. The cells are defined
once (`_cells_sql`); `rows` and `csv_lines` wrap that query to defuse, and to quote and join.
Which themes a post has: the editor's (reviews.themes) once the post is reviewed (a reviews row
with a status other than 'nieuw'), else the themes the NLP step assigned.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlite_utils

from ..models import ExportCells, ExportQuery, ExportRow
from ..pseudonyms import PREFIX as PSEUDONYM_PREFIX

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

_HAS_THEME = f"""CASE WHEN {_REVIEWED}
        THEN EXISTS (SELECT 1 FROM json_each(r.themes) WHERE value IN ({{marks}}))
        ELSE EXISTS (SELECT 1 FROM post_themes WHERE post_id = p.id AND assigned AND theme IN ({{marks}}))
    END"""

_SOURCES = """coalesce((SELECT group_concat(name, ', ') FROM
        (SELECT s.name FROM sightings g JOIN sources s ON s.id = g.source_id WHERE g.post_id = p.id
         ORDER BY g.source_id)), '')"""
_DUPLICATES = "(SELECT count(*) FROM reviews d WHERE d.duplicate_of = p.id AND d.status = 'duplicaat')"

# the cells of harvested or typed text: defused, and in CSV quoted when they need it
TEXT_CELLS = frozenset({"themes", "text", "author", "sources", "url", "note"})


class ExportStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def rows(self, query: ExportQuery, cells: ExportCells) -> Iterator[ExportRow]:
        """The rows of an export as cells, in id order (with `per_theme` by theme first).

        Duplicates (status 'duplicaat' pointing at another post) are never rows of their own:
        they are counted in their original's `duplicates`.
        """
        inner, params = self._cells_sql(query, cells)
        fields = [_defuse(name, cells) if name in TEXT_CELLS else name for name in ExportRow._fields]
        cursor = self.db.conn.execute(f"SELECT {', '.join(fields)} FROM ({inner})", params)
        cursor.arraysize = 1000
        for row in cursor:
            yield ExportRow(*row)

    def csv_lines(self, query: ExportQuery, cells: ExportCells, *, separator: str, decimal_comma: bool,
                  batch: int) -> Iterator[tuple[bytes, int]]:
        """The rows of `rows(query, cells)` as CSV lines in UTF-8, `batch` lines at a time (with
        how many there are).

        Quoted as Python's csv module does it (QUOTE_MINIMAL, doublequote): a text cell holding
        the separator, a double quote, CR or LF goes between double quotes, its quotes doubled;
        the other cells (numbers, ISO times, statuses) never need quotes. Every line ends in CRLF.
        SQLite builds each line as a BLOB, so Python neither decodes nor encodes any text.
        """
        inner, params = self._cells_sql(query, cells)
        params["sep"] = separator
        fields = []
        for name in ExportRow._fields:
            if name in TEXT_CELLS:
                # an apostrophe needs no quotes: whether the cell does is the same before and after defusing
                needs = " OR ".join(f"instr({name}, {c})" for c in ("'\"'", ":sep", "char(10)", "char(13)"))
                quoted = _defuse(f"""replace({name}, '"', '""')""", cells, first=name)
                fields.append(f"""CASE WHEN {needs} THEN '"' || {quoted} || '"' ELSE {_defuse(name, cells)} END""")
            elif name == "score" and decimal_comma:
                fields.append("replace(score, '.', ',')")   # Dutch Excel reads 0,873 as a number
            else:
                fields.append(name)
        # printf: the line in one pass, and NULL prints as nothing
        params["line"] = separator.join(["%s"] * len(fields)) + "\r\n"
        # `inner` is an aggregate (GROUP BY), so SQLite runs it as a co-routine and computes each
        # cell once; flattened into this query, a cell would be computed once per mention here
        sql = f"SELECT CAST(printf(:line, {', '.join(fields)}) AS BLOB) FROM ({inner})"
        cursor = self.db.conn.execute(sql, params)
        while lines := cursor.fetchmany(batch):
            yield b"".join([line for line, in lines]), len(lines)

    def count(self, query: ExportQuery) -> int:
        """How many rows `rows(query)` yields, for a progress display."""
        sql, params = _filtered(query, "count(*)", group=False)
        return self.db.conn.execute(sql, params).fetchone()[0]

    def source_names(self) -> list[str]:
        """Names of the sources posts may have been seen on (for checking a --source filter)."""
        return [r[0] for r in self.db.conn.execute("SELECT name FROM sources ORDER BY name")]

    def _cells_sql(self, query: ExportQuery, cells: ExportCells) -> tuple[str, dict[str, object]]:
        """The one definition of the export's cells (in ExportRow's order, not yet defused), as SQL.

        The Python functions it needs (Dutch time, pseudonyms) are registered on the connection
        for this export; SQLite calls them once per row.
        """
        conn = self.db.conn
        conn.create_function("export_local_time", 1, cells.local_time, deterministic=True)
        params: dict[str, object] = {}

        def label(expr: str) -> str:
            if not cells.labels:
                return expr
            for n, (theme, name) in enumerate(cells.labels.items()):
                params.update({f"label_id{n}": theme, f"label{n}": name})
            whens = " ".join(f"WHEN :label_id{n} THEN :label{n}" for n in range(len(cells.labels)))
            return f"CASE {expr} {whens} ELSE {expr} END"

        text = "CASE WHEN p.title <> '' THEN p.title || char(10, 10) || p.text ELSE p.text END"
        author = """CASE WHEN a.display_name <> '' AND a.key <> '' AND a.display_name <> a.key
            THEN a.display_name || ' (' || a.key || ')' ELSE coalesce(nullif(a.display_name, ''), a.key, '') END"""
        url = "coalesce(p.url, '')"
        if cells.pseudonymize is not None:
            conn.create_function("export_pseudonym", 1, cells.pseudonymize.name, deterministic=True)
            conn.create_function("export_pseudonymize_text", 1, cells.pseudonymize.text, deterministic=True)
            text = f"export_pseudonymize_text({text})"
            author = "CASE WHEN a.key <> '' THEN export_pseudonym(a.key) ELSE '' END"
            url = "''"   # a post's link names its author
        # retention replaced this author already: every export shows the stored pseudonym, which is
        # the one --pseudonymize gives the same person's newer posts
        author = f"CASE WHEN substr(a.key, 1, {len(PSEUDONYM_PREFIX)}) = '{PSEUDONYM_PREFIX}' THEN a.display_name ELSE {author} END"
        if query.per_theme:
            themes, score = label("e.theme"), "round(e.score, 3)"
        else:
            # themes and best score from one join (see _filtered): the model's themes of a post the
            # editor has not settled, in theme order (the primary key's), or the editor's in their order
            themes = f"""coalesce(CASE WHEN {_REVIEWED}
                THEN (SELECT group_concat({label('value')}, ', ') FROM json_each(r.themes))
                ELSE group_concat({label('pt.theme')}, ', ') END, '')"""
            score = f"""round(CASE WHEN {_REVIEWED}
                THEN (SELECT max(s.score) FROM json_each(r.themes) j
                      JOIN post_themes s ON s.post_id = p.id AND s.theme = j.value)
                ELSE max(pt.score) END, 3)"""
        columns = {
            "post_id": "p.id",
            "themes": themes,
            "text": text,
            "author": author,
            "sources": _SOURCES,
            "url": url,
            "published": "coalesce(export_local_time(p.published_at), '')",
            "status": "coalesce(r.status, 'nieuw')",
            "score": score,
            "note": "coalesce(r.note, '')",
            "duplicates": _DUPLICATES,
        }
        assert list(columns) == list(ExportRow._fields)
        sql, filter_params = _filtered(query, ", ".join(f"{expr} AS {name}" for name, expr in columns.items()),
                                       group=True)
        return sql, {**params, **filter_params}


def _filtered(query: ExportQuery, columns: str, *, group: bool) -> tuple[str, dict[str, object]]:
    """The query behind rows() and count(): the filters shared, the columns given.

    With `group`: one group per row of the export (a post, or a post and a theme), and for a
    whole post the model's themes joined in, for its cells to aggregate.
    """
    where = ["NOT (r.status IS 'duplicaat' AND r.duplicate_of IS NOT NULL)"]
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
    joins = ""
    if query.per_theme:
        head, source, order = _EFFECTIVE_THEMES, "eff e JOIN posts p ON p.id = e.post_id", "e.theme, p.id"
        if query.themes:
            where.append(f"e.theme IN ({_marks('theme', query.themes, params)})")
    else:
        head, source, order = "", "posts p", "p.id"
        if query.themes:
            where.append(_HAS_THEME.format(marks=_marks("theme", query.themes, params)))
        if group:
            joins = f"LEFT JOIN post_themes pt ON pt.post_id = p.id AND pt.assigned AND NOT {_REVIEWED}"
    sql = f"""{head}
        SELECT {columns}
        FROM {source}
        LEFT JOIN reviews r ON r.post_id = p.id
        LEFT JOIN authors a ON a.id = p.author_id
        {joins}
        WHERE {' AND '.join(where)}"""
    return (f"{sql}\nGROUP BY {order}\nORDER BY {order}" if group else sql), params


def _defuse(expr: str, cells: ExportCells, first: str | None = None) -> str:
    """OWASP's advice against CSV injection: an apostrophe before a cell whose first character
    (that of `first`, by default of `expr` itself) could start a formula. For columns of the
    cells query only: the expressions are mentioned more than once."""
    if not cells.defuse:
        return expr
    # unicode(): the first code point. Numbers written into the SQL, not parameters: SQLite builds
    # an IN list of constants once, one of parameters again for every test
    starts = ", ".join(str(ord(c)) for c in cells.defuse)
    return f"CASE WHEN unicode({first or expr}) IN ({starts}) THEN '''' || {expr} ELSE {expr} END"


def _marks(name: str, values: Sequence[object], params: dict[str, object]) -> str:
    """Named parameters for `values` (added to `params`), as the list inside IN (...)."""
    for n, value in enumerate(values):
        params[f"{name}{n}"] = value
    return ", ".join(f":{name}{n}" for n in range(len(values)))
