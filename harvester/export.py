"""Workshop exports: the ideas as a CSV that opens right in Dutch Excel, or as XLSX.

Shared by `harvester export` and the review app's download: both build an `ExportOptions` (dates
typed by a person through `parse_day`, then `check` against the known themes and sources), and call
`write_export` with a binary stream.
The store streams one row per idea (or per idea and theme) from one SQL query; `_cells` turns each
into the cells of the file (theme names, author, Dutch time, pseudonyms), and `csv.writer` or
openpyxl's write-only mode writes them as they come, so memory stays flat however large the
export. Every text cell loses the characters no spreadsheet can hold (`normalize.writable`: NUL, which
cuts a cell short in many readers, the other control characters, U+FFFE/U+FFFF), then is defused
against formula injection (`defuse`); README.md ("Exporteren") documents the columns, dialects and pseudonyms.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from typing import BinaryIO

from .errors import UsageError
from .privacy.hashing import pseudonym
from .models import ExportQuery, ExportRow, Status, author_label
from .normalize import MENTION, writable
from .privacy.pseudonyms import PREFIX as PSEUDONYM_PREFIX
from . import timeutil
from .privacy.scrub import Scrubber
from .store import Store
from .timeutil import AMSTERDAM, dutch_day_start, parse_iso

FORMATS = ("csv", "xlsx")
DIALECTS = ("excel-nl", "rfc4180")
HEADER = ["id", "thema's", "idee", "auteur", "bron", "link", "datum", "status", "zekerheid", "notitie",
          "aantal duplicaten", "idee-groep"]
PER_THEME_HEADER = ["id", "thema", *HEADER[2:]]

# The start of a formula (OWASP, CSV injection: = + - @), behind the quotes a spreadsheet takes off
# as text delimiters and, before '=', the spaces LibreOffice's "trim spaces" takes off: it then
# reads ' =1' as a formula, but only '=' starts one there (measured); Excel keeps a cell with a
# leading space as text. So ", - zegt Piet" stays as written.
FORMULA = r'[ "]*=|"*[-+@]'
# a cell that can be read as a formula: tab and CR in front can hide one (OWASP)
FORMULA_START = re.compile(rf"{FORMULA}|[\t\r]")
# a formula where a spreadsheet may begin a cell inside a text: read with another separator than
# the file's (the facilitator's list separator is unknown) after a ',' ';' or tab, and after a
# line break in quotes that such a reader does not see (it ends the row there, LibreOffice does)
FORMULA_INSIDE = re.compile(rf"([,;\t\r\n])(?={FORMULA})")
PROGRESS_EVERY = 1000
AUTHORS_CACHED = 16_384   # authors whose pseudonym and scrubber (~1.4 kB) a pseudonymised export keeps


class ExportError(UsageError):
    """Options that cannot make an export; the message (Dutch) is shown to the person as it is."""


@dataclass(frozen=True)
class ExportOptions:
    format: str = "csv"                       # csv | xlsx
    dialect: str = "excel-nl"                 # csv only: excel-nl | rfc4180
    statuses: tuple[str, ...] = ()            # empty: every status
    themes: tuple[str, ...] = ()              # theme ids; empty: every post, with or without themes
    since: date | None = None                 # Europe/Amsterdam days, inclusive
    until: date | None = None
    sources: tuple[str, ...] = ()
    per_theme: bool = False                   # one row per idea per theme
    pseudonymize: bool = False                # authors and @mentions -> keyed pseudonyms, no links
    raw: bool = False                         # rfc4180 only: cells as stored (cleaned), no defusing

    def check(self, themes: Iterable[str] | None = None, sources: Iterable[str] | None = None) -> None:
        """Refuse combinations that make no sense, and ids that do not exist (when known)."""
        if self.format not in FORMATS:
            raise ExportError(f"onbekend formaat {self.format!r} (kies uit: {', '.join(FORMATS)})")
        if self.dialect not in DIALECTS:
            raise ExportError(f"onbekend dialect {self.dialect!r} (kies uit: {', '.join(DIALECTS)})")
        for status in self.statuses:
            if not Status.has(status):
                raise ExportError(f"onbekende status {status!r} (kies uit: {', '.join(Status)})")
        if themes is not None:
            known = list(themes)
            for theme in self.themes:
                if theme not in known:
                    raise ExportError(f"onbekend thema {theme!r} (kies uit: {', '.join(known)})")
        if sources is not None:
            known = sorted(sources)
            for source in self.sources:
                if source not in known:
                    raise ExportError(f"onbekende bron {source!r} (bekend: {', '.join(known) or 'geen'})")
        if self.since and self.until and self.since > self.until:
            raise ExportError(f"de begindatum ({self.since}) ligt na de einddatum ({self.until})")
        if self.raw and not (self.format == "csv" and self.dialect == "rfc4180"):
            raise ExportError("--raw kan alleen met --format csv --dialect rfc4180: een bestand voor een "
                              "spreadsheet wordt altijd beschermd tegen formules")

    def query(self) -> ExportQuery:
        """The store's filter: Amsterdam days become a UTC range [since 00:00, the day after until 00:00).
        Duplicates are rows of their own only when asked for by their status: in any other export
        they would repeat their original's idea, which counts them in `aantal duplicaten`."""
        return ExportQuery(
            statuses=self.statuses,
            themes=self.themes,
            since=dutch_day_start(self.since) if self.since else None,
            until=dutch_day_start(self.until, days_later=1) if self.until else None,
            sources=self.sources,
            per_theme=self.per_theme,
            duplicates=Status.DUPLICATE in self.statuses,
        )


def parse_day(text: str, name: str) -> date:
    """A day as typed on the command line or in the form, `name` being its option or field."""
    try:
        return timeutil.parse_day(text)
    except ValueError as problem:
        raise ExportError(f"{name}: {problem}") from None


def defuse(value: str, *, inside: bool = True) -> str:
    """OWASP's advice against CSV injection: an apostrophe in front of a cell that could start a
    formula, and (`inside`, for CSV) in front of every place inside it where a spreadsheet reading
    the file with another separator could start a cell with one (quoting the cell does not help:
    such a reader does not see the quotes). An XLSX cell is a typed string that no separator
    splits, so there only its start is defused, and "€ 25,- per" or a dash list stay as written.
    Only after `writable`, or a dropped control character could uncover a formula. Tab, LF and CR
    stay in a cell (the text's own layout; CSV quotes a cell holding LF or CR, XLSX reads a CR as
    LF): a cell that starts with tab or CR is defused like one starting with '=', and one holding
    them like one holding ';'."""
    if inside and FORMULA_INSIDE.search(value):   # searching first: `sub` costs a microsecond even when nothing matches
        value = FORMULA_INSIDE.sub(r"\1'", value)
    return "'" + value if FORMULA_START.match(value) else value


def safe_text(value: str) -> str:
    """A text cell of a CSV export: made writable, then defused."""
    return defuse(writable(value))


def safe_cell_text(value: str) -> str:
    """A text cell of an XLSX export: made writable, then defused at its start."""
    return defuse(writable(value), inside=False)


def local_iso(stamp: str | None) -> str | None:
    """A stored UTC time as ISO 8601 in Dutch time, with its offset (+01:00 or +02:00)."""
    if not stamp:
        return None
    return parse_iso(stamp).astimezone(AMSTERDAM).isoformat()


def write_export(
    store: Store,
    options: ExportOptions,
    out: BinaryIO,
    *,
    secret: bytes | None = None,
    progress: Callable[[int], None] | None = None,
    labels: Mapping[str, str] | None = None,
) -> int:
    """Write the export to `out` (left open); returns the number of rows written (header excluded).

    `secret` is required with `pseudonymize`; `progress` is called with the number of rows written
    since its last call; `labels` maps theme ids to the names shown in the theme column (ids
    without a label are shown as they are).
    """
    options.check()
    if options.pseudonymize and not secret:
        raise ExportError("pseudonimiseren kan niet zonder geheime sleutel")
    header = PER_THEME_HEADER if options.per_theme else HEADER
    rows = _cells(store.exports.rows(options.query()), options, secret, labels or {})
    if options.format == "xlsx":
        return _write_xlsx(header, rows, out, progress)
    return _write_csv(header, rows, out, options, progress)


def author_cell(author_key: str | None, author_name: str | None, secret: bytes | None,
                handle: str | None = None) -> str:
    """How an idea's author is named: 'Name (account)', one of the two, or with `secret` a keyed
    pseudonym (of the key: a Bluesky author keeps theirs when the handle changes). An author that
    retention pseudonymised already keeps the stored pseudonym, the one `secret` gives the same
    person's newer posts."""
    if author_key and author_key.startswith(PSEUDONYM_PREFIX):
        return author_name or ""
    if secret:
        return pseudonym(secret, author_key) if author_key else ""
    return author_label(author_name, author_key, handle)


def pseudonymize_mentions(text: str, secret: bytes) -> str:
    """Every @mention in `text` replaced by the keyed pseudonym of the account."""
    return MENTION.sub(lambda m: "@" + pseudonym(secret, m.group(1)), text)


def author_pseudonym(author_key: str | None, author_name: str | None, secret: bytes,
                     handle: str | None = None) -> tuple[str, Scrubber]:
    """A pseudonymised export's author cell, and what puts that same pseudonym where the author's
    account or display name is written out in their post or its note (after
    `pseudonymize_mentions`, which already gave `@account` it): the author column alone would hide
    nobody in a post signed with a name. One per author, not per row. An author the retention job
    pseudonymised has nothing left to find: it scrubbed their post and note with the name it knew."""
    cell = author_cell(author_key, author_name, secret)
    if author_key and not author_key.startswith(PSEUDONYM_PREFIX):
        return cell, Scrubber(cell, keys=(author_key, handle or ""), names=(author_name or "",),
                              handles=(handle or "",))
    return cell, Scrubber(cell)


def group_cell(idea_group: str | None) -> str:
    """'groep 3: posts 12, 15, 20' for a post that editors grouped with others as one idea, else ''.
    Every member's row carries the same cell, so a spreadsheet counts the group once."""
    if not idea_group:
        return ""
    group_id, _, members = idea_group.partition(":")
    return f"groep {group_id}: posts {members.replace(',', ', ')}"


def _cells(
    rows: Iterable[ExportRow], options: ExportOptions, secret: bytes | None, labels: Mapping[str, str]
) -> Iterator[list]:
    """Stored rows as the cells of the file: theme names, author, Dutch time, pseudonyms, text
    made writable and (unless `raw`) defused. The hot loop of every export, so it stays plain."""
    safe = writable if options.raw else safe_text if options.format == "csv" else safe_cell_text
    pseudonymize = options.pseudonymize
    names: dict[str, str] = {}   # an export holds few distinct lists of themes
    # the last authors' pseudonyms and scrubbers; bounded, so a million rows keep memory flat
    authors = lru_cache(maxsize=AUTHORS_CACHED)(partial(author_pseudonym, secret=secret))
    for (post_id, themes, score, title, text, author_key, author_name, handle, sources, url, published, status, note,
         duplicates, idea_group) in rows:
        if title:
            text = f"{title}\n\n{text}"
        if pseudonymize:
            author, scrub = authors(author_key, author_name, handle=handle)
            text = scrub(pseudonymize_mentions(text, secret))  # type: ignore[arg-type]
            if note:
                note = scrub(pseudonymize_mentions(note, secret))  # type: ignore[arg-type]
            url = None   # a post's link names its author
        else:
            author = author_cell(author_key, author_name, None, handle)
        theme_names = names.get(themes)
        if theme_names is None:
            theme_names = names[themes] = ", ".join(labels.get(t, t) for t in themes.split(",")) if themes else ""
        yield [post_id, safe(theme_names), safe(text), safe(author), safe(sources), safe(url or ""),
               local_iso(published) or "", status, score, safe(note or ""), duplicates, group_cell(idea_group)]


def _write_csv(
    header: Sequence[str], rows: Iterable[list], out: BinaryIO, options: ExportOptions,
    progress: Callable[[int], None] | None,
) -> int:
    excel = options.dialect == "excel-nl"
    if excel:
        # the BOM makes Excel read UTF-8; no "sep=" line, which would hide it
        out.write(codecs.BOM_UTF8)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text, delimiter=";" if excel else ",", lineterminator="\r\n")
    count = 0
    try:
        writer.writerow(header)
        for cells in rows:
            if excel and cells[8] is not None:
                cells[8] = str(cells[8]).replace(".", ",")   # Dutch Excel reads 0,873 as a number
            writer.writerow(cells)
            count += 1
            if progress and count % PROGRESS_EVERY == 0:
                progress(PROGRESS_EVERY)
    finally:
        text.detach()   # flushes; the caller's stream stays open, also when the export fails
    if progress and count % PROGRESS_EVERY:
        progress(count % PROGRESS_EVERY)
    return count


def _write_xlsx(
    header: Sequence[str], rows: Iterable[list], out: BinaryIO, progress: Callable[[int], None] | None
) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES

    # write-only: rows go to a temporary file as they come, not into memory
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Ideeën")
    sheet.append(header)

    def text(value: str) -> str | WriteOnlyCell | None:
        # writable already (_cells): openpyxl refuses a text XML cannot hold, and with it the file
        if not value:
            return None   # an empty cell, not an empty string
        if value[:1] != "=" and value not in ERROR_CODES:
            return value
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"   # a string, whatever it looks like: never a formula or an error value
        return cell

    count = 0
    for cells in rows:
        sheet.append([text(v) if isinstance(v, str) else v for v in cells])
        count += 1
        if progress and count % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
    workbook.save(out)
    if progress and count % PROGRESS_EVERY:
        progress(count % PROGRESS_EVERY)
    return count
