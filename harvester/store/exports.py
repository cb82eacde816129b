"""The rows of a workshop export, made by one SQL query: cells for XLSX, finished CSV lines for CSV.

The cells of every post are kept ready by triggers (export_cells, effective_themes: schema.py
and docs/schema.md), so an export reads one row per post, or per post and theme. SQLite does what
is left (defusing and quoting where a cell's flags say so, Dutch time before 1996) in C; theme
names are looked up once per distinct list. A million rows cost Python little more than one
`write` per thousand lines. The cells are defined once (`_cells_sql`); `rows` and `csv_lines`
wrap that query to defuse, and to quote and join.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import sqlite_utils

from ..models import ExportCells, ExportQuery, ExportRow
from ..pseudonyms import PREFIX as PSEUDONYM_PREFIX

# the cells of harvested or typed text: defused, and in CSV quoted when they need it
TEXT_CELLS = frozenset({"themes", "text", "author", "sources", "url", "note"})

# export_cells.flags: where each cell's three bits are, and what the bits say (schema.py, V2)
FLAG_SHIFTS = {"text": 0, "author": 3, "url": 6}
QUOTES_BIT = {";": 1, ",": 2}          # quotes needed with this separator
FORMULA_BIT = 4                        # starts with one of FLAGGED_FORMULA_START
FLAGGED_FORMULA_START = frozenset("\t\r+-=@")


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
        SQLite builds each line as a BLOB, so Python neither decodes nor encodes any text. What
        a stored cell needs was found when it was written (export_cells.flags); theme names and
        source names that can never need anything are written as they are.
        """
        flagged = (separator in QUOTES_BIT and set(cells.defuse) in (set(), FLAGGED_FORMULA_START)
                   and cells.pseudonymize is None)   # pseudonyms change text and author
        inner, params = self._cells_sql(query, cells)
        params["sep"] = separator
        fixed = {"themes": self._theme_names(cells.labels), "sources": self.source_names()}
        fields = []
        for name in ExportRow._fields:
            if name in fixed and _plain(fixed[name], separator, cells.defuse):
                fields.append(name)
            elif name in FLAG_SHIFTS and flagged:
                fields.append(_flagged_cell(name, FLAG_SHIFTS[name], separator, bool(cells.defuse)))
            elif name in TEXT_CELLS:
                # an apostrophe needs no quotes: whether the cell does is the same before and after defusing
                needs = " OR ".join(f"instr({name}, {c})" for c in ("'\"'", ":sep", "char(10)", "char(13)"))
                quoted = _defuse(f"""replace({name}, '"', '""')""", cells, first=name)
                cell = f"""CASE WHEN {needs} THEN '"' || {quoted} || '"' ELSE {_defuse(name, cells)} END"""
                fields.append(f"CASE WHEN {name} = '' THEN '' ELSE {cell} END" if name == "note" else cell)
            elif name == "score" and decimal_comma:
                fields.append("replace(score, '.', ',')")   # Dutch Excel reads 0,873 as a number
            else:
                fields.append(name)
        # printf: the line in one pass, and NULL prints as nothing
        params["line"] = separator.join(["%s"] * len(fields)) + "\r\n"
        sql = f"SELECT CAST(printf(:line, {', '.join(fields)}) AS BLOB) FROM ({inner})"
        cursor = self.db.conn.execute(sql, params)
        while lines := cursor.fetchmany(batch):
            yield b"".join([line for line, in lines]), len(lines)

    def count(self, query: ExportQuery) -> int:
        """How many rows `rows(query)` yields, for a progress display."""
        sql, params = _filtered(query, "count(*)")
        return self.db.conn.execute(sql, params).fetchone()[0]

    def refresh_themes(self, post_ids: Sequence[int] | None = None) -> None:
        """effective_themes and the themes cells of these posts (of all posts: None) again from
        their views; for whoever writes post_themes (the verdicts' store; benchmarks filling a file)."""
        refresh_themes(self.db.conn, post_ids)

    def source_names(self) -> list[str]:
        """Names of the sources posts may have been seen on (for checking a --source filter)."""
        return [r[0] for r in self.db.conn.execute("SELECT name FROM sources ORDER BY name")]

    def _theme_names(self, labels: Mapping[str, str]) -> list[str]:
        """The names a themes cell can hold: those of the themes posts have."""
        themes = self.db.conn.execute(
            "WITH RECURSIVE t(theme) AS (SELECT min(theme) FROM effective_themes UNION ALL"
            " SELECT (SELECT min(theme) FROM effective_themes WHERE theme > t.theme) FROM t WHERE t.theme IS NOT NULL)"
            " SELECT theme FROM t WHERE theme IS NOT NULL")
        return [labels.get(theme, theme) for theme, in themes]

    def _cells_sql(self, query: ExportQuery, cells: ExportCells) -> tuple[str, dict[str, object]]:
        """The one definition of the export's cells (in ExportRow's order, not yet defused), as SQL,
        and the stored cells' `flags`.

        The Python functions it needs (Dutch time before 1996, pseudonyms) are registered on the
        connection for this export; SQLite calls them once per row that needs them.
        """
        conn = self.db.conn
        conn.create_function("export_local_time", 1, cells.local_time, deterministic=True)
        conn.create_function("export_labels", 1, _labels(cells.labels), deterministic=True)
        params: dict[str, object] = {}
        text, author, url = "c.text", "c.author", "c.url"
        if cells.pseudonymize is not None:
            conn.create_function("export_pseudonym", 1, cells.pseudonymize.name, deterministic=True)
            conn.create_function("export_pseudonymize_text", 1, cells.pseudonymize.text, deterministic=True)
            text = "export_pseudonymize_text(c.text)"
            # retention replaced this author already: the stored pseudonym is the one --pseudonymize
            # gives the same person's newer posts
            author = f"""(SELECT CASE WHEN substr(a.key, 1, {len(PSEUDONYM_PREFIX)}) = '{PSEUDONYM_PREFIX}' THEN a.display_name
                WHEN a.key <> '' THEN export_pseudonym(a.key) ELSE '' END
                FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.id = c.post_id)"""
            url = "''"   # a post's link names its author
        if query.per_theme:
            themes, score = "export_labels(e.theme)", "round(e.score, 3)"
        else:
            themes, score = "export_labels(c.themes)", "round(c.score, 3)"
        columns = {
            "post_id": "c.post_id",
            "themes": themes,
            "text": text,
            "author": f"coalesce({author}, '')",
            "sources": "c.sources",
            "url": url,
            # posts is read only for what SQL did not convert: its rows are large
            "published": "coalesce(c.published, export_local_time((SELECT published_at FROM posts WHERE id = c.post_id)), '')",
            "status": "coalesce(r.status, 'nieuw')",
            "score": score,
            "note": "coalesce(r.note, '')",
            "duplicates": "c.duplicates",
        }
        assert list(columns) == list(ExportRow._fields)
        selected = ", ".join(f"{expr} AS {name}" for name, expr in columns.items())
        sql, filter_params = _filtered(query, f"{selected}, c.flags AS flags")
        return sql, {**params, **filter_params}


def refresh_themes(conn: sqlite3.Connection, post_ids: Sequence[int] | None) -> None:
    """See ExportStore.refresh_themes. Not a trigger on post_themes: classify rewrites eight rows
    per post, and a trigger per row cost the writer four times what the rows themselves do."""
    if post_ids is None:
        conn.execute("DELETE FROM effective_themes")
        conn.execute("INSERT INTO effective_themes SELECT * FROM effective_themes_view")
        conn.execute("UPDATE export_cells SET (themes, score) = (SELECT themes, score FROM export_cells_view v"
                     " WHERE v.post_id = export_cells.post_id)")
        return
    ids = [(post_id,) for post_id in dict.fromkeys(post_ids)]   # each once: all deletes go first
    conn.executemany("DELETE FROM effective_themes WHERE post_id = ?", ids)
    # one post at a time: SQLite pushes `post_id = ?` into the view's two halves, not an IN list
    conn.executemany("INSERT INTO effective_themes SELECT * FROM effective_themes_view WHERE post_id = ?", ids)
    conn.executemany("UPDATE export_cells SET (themes, score) = (SELECT themes, score FROM export_cells_view v"
                     " WHERE v.post_id = ?1) WHERE post_id = ?1", ids)


def _filtered(query: ExportQuery, columns: str) -> tuple[str, dict[str, object]]:
    """The query behind rows() and count(): the filters shared, the columns given; one row per
    post, or with `per_theme` per post and theme."""
    where = ["NOT (r.status IS 'duplicaat' AND r.duplicate_of IS NOT NULL)"]
    params: dict[str, object] = {}
    if query.statuses:
        where.append(f"coalesce(r.status, 'nieuw') IN ({_marks('status', query.statuses, params)})")
    published = []
    if query.since is not None:
        published.append("published_at >= :since")
        params["since"] = query.since
    if query.until is not None:
        published.append("published_at < :until")
        params["until"] = query.until
    if published:
        where.append(f"EXISTS (SELECT 1 FROM posts WHERE id = c.post_id AND {' AND '.join(published)})")
    if query.sources:
        where.append(
            "EXISTS (SELECT 1 FROM sightings g JOIN sources s ON s.id = g.source_id"
            f" WHERE g.post_id = c.post_id AND s.name IN ({_marks('source', query.sources, params)}))"
        )
    if query.per_theme:
        source, order = "effective_themes e JOIN export_cells c ON c.post_id = e.post_id", "e.theme, e.post_id"
        if query.themes:
            where.append(f"e.theme IN ({_marks('theme', query.themes, params)})")
    else:
        source, order = "export_cells c", "c.post_id"
        if query.themes:
            where.append("EXISTS (SELECT 1 FROM effective_themes e WHERE e.post_id = c.post_id"
                         f" AND e.theme IN ({_marks('theme', query.themes, params)}))")
    sql = f"""SELECT {columns}
        FROM {source}
        LEFT JOIN reviews r ON r.post_id = c.post_id
        WHERE {' AND '.join(where)}
        ORDER BY {order}"""
    return sql, params


def _flagged_cell(name: str, shift: int, separator: str, defuse: bool) -> str:
    """A stored cell quoted and defused as its flags say, with no function called on it unless it
    needs quotes."""
    quote, formula = QUOTES_BIT[separator] << shift, FORMULA_BIT << shift

    def defused(expr: str) -> str:
        return f"CASE WHEN flags & {formula} THEN '''' || {expr} ELSE {expr} END" if defuse else expr

    quoted = defused(f"""replace({name}, '"', '""')""")
    return f"""CASE WHEN flags & {quote} THEN '"' || {quoted} || '"' ELSE {defused(name)} END"""


def _plain(values: Iterable[str], separator: str, defuse: Sequence[str]) -> bool:
    """Whether a cell made of these values, ', '-separated, never needs quotes or defusing."""
    specials = {'"', "\n", "\r", separator}
    return separator not in ", " and not any(
        specials.intersection(value) or value[:1] in defuse for value in values)


def _labels(labels: Mapping[str, str]) -> Callable[[str], str]:
    """Theme ids (','-separated, as export_cells keeps them) -> the names shown, ', '-separated.

    An export holds few distinct lists of themes, so each is looked up once."""
    @functools.lru_cache(maxsize=4096)
    def names(ids: str) -> str:
        return ", ".join(labels.get(theme, theme) for theme in ids.split(",")) if ids else ""
    return names


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
