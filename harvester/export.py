"""Workshop exports: the ideas as a CSV that opens right in Dutch Excel, or as XLSX.

Shared by `harvester export` and the review app's download: both build an `ExportOptions` (dates
typed by a person through `parse_day`, then `check` against the known themes and sources), and call
`write_export` with a binary stream.
The store computes the cells in SQL, and for CSV the finished lines, which stream to the file a
thousand at a time, so memory stays flat however large the export. Every text cell is defused
against formula injection (an apostrophe before a first character in FORMULA_START); README.md
("Exporteren") documents the columns, dialects and pseudonyms.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import BinaryIO
from zoneinfo import ZoneInfo

from .hashing import pseudonym
from .models import ExportCells, ExportQuery, ExportRow, Pseudonyms
from .normalize import MENTION
from .store import Store
from .store.reviews import STATUSES
from .timeutil import parse_iso, to_utc_iso

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FORMATS = ("csv", "xlsx")
DIALECTS = ("excel-nl", "rfc4180")
HEADER = ["id", "thema's", "idee", "auteur", "bron", "link", "datum", "status", "zekerheid", "notitie",
          "aantal duplicaten"]
PER_THEME_HEADER = ["id", "thema", *HEADER[2:]]

# OWASP (CSV injection): a cell starting with one of these can be read as a formula by a spreadsheet
FORMULA_START = frozenset("=+-@\t\r")
PROGRESS_EVERY = 1000


class ExportError(Exception):
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
    raw: bool = False                         # rfc4180 only: cells exactly as stored, no defusing

    def check(self, themes: Iterable[str] | None = None, sources: Iterable[str] | None = None) -> None:
        """Refuse combinations that make no sense, and ids that do not exist (when known)."""
        if self.format not in FORMATS:
            raise ExportError(f"onbekend formaat {self.format!r} (kies uit: {', '.join(FORMATS)})")
        if self.dialect not in DIALECTS:
            raise ExportError(f"onbekend dialect {self.dialect!r} (kies uit: {', '.join(DIALECTS)})")
        for status in self.statuses:
            if status not in STATUSES:
                raise ExportError(f"onbekende status {status!r} (kies uit: {', '.join(STATUSES)})")
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
        """The store's filter: Amsterdam days become a UTC range [since 00:00, the day after until 00:00)."""
        return ExportQuery(
            statuses=self.statuses,
            themes=self.themes,
            since=_day_start_utc(self.since) if self.since else None,
            until=_day_start_utc(self.until + timedelta(days=1)) if self.until else None,
            sources=self.sources,
            per_theme=self.per_theme,
        )


def parse_day(text: str, name: str) -> date:
    """A day as typed on the command line or in the form (JJJJ-MM-DD)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ExportError(f"{name}: {text!r} is geen datum; schrijf JJJJ-MM-DD, bijvoorbeeld 2013-05-14") from None


def _day_start_utc(day: date) -> str:
    return to_utc_iso(datetime.combine(day, time(), tzinfo=AMSTERDAM))


def local_iso(stamp: str | None) -> str | None:
    """A stored UTC time as ISO 8601 in Dutch time, with its offset (+01:00 or +02:00)."""
    if not stamp:
        return None
    if len(stamp) == 25 and stamp.endswith("+00:00"):   # the stored form, 2013-05-14T22:30:00+00:00
        local = _local_hour(stamp[:13])
        if local:
            return local[0] + stamp[13:19] + local[1]
    return parse_iso(stamp).astimezone(AMSTERDAM).isoformat()


@functools.lru_cache(maxsize=4096)
def _local_hour(utc_hour: str) -> tuple[str, str] | None:
    """Dutch hour and offset of a UTC hour ('2013-05-14T22' -> '2013-05-15T00', '+02:00'): the
    offset is whole hours, so minutes and seconds carry over, and an export converts each hour once."""
    local = datetime.fromisoformat(utc_hour + ":00:00+00:00").astimezone(AMSTERDAM)
    if local.utcoffset().total_seconds() % 3600:  # type: ignore[union-attr]
        return None   # Amsterdam time before 1940 (+00:19:32, +00:20): the slow path gets it right
    text = local.isoformat()
    return text[:13], text[19:]


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
    cells = ExportCells(
        local_time=local_iso, labels=labels or {},
        defuse=() if options.raw else tuple(sorted(FORMULA_START)),
        pseudonymize=_pseudonyms(secret) if options.pseudonymize else None,  # type: ignore[arg-type]
    )
    if options.format == "xlsx":
        return _write_xlsx(header, store.exports.rows(options.query(), cells), out, progress)
    excel = options.dialect == "excel-nl"
    separator = ";" if excel else ","
    if excel:
        # the BOM makes Excel read UTF-8; no "sep=" line, which would hide it
        out.write(codecs.BOM_UTF8)
    line = io.StringIO()
    csv.writer(line, delimiter=separator, lineterminator="\r\n").writerow(header)
    out.write(line.getvalue().encode("utf-8"))
    count = 0
    for lines, n in store.exports.csv_lines(options.query(), cells, separator=separator, decimal_comma=excel,
                                            batch=PROGRESS_EVERY):
        out.write(lines)
        count += n
        if progress:
            progress(n)
    return count


def _pseudonyms(secret: bytes) -> Pseudonyms:
    return Pseudonyms(
        name=functools.partial(pseudonym, secret),
        text=lambda text: MENTION.sub(lambda m: "@" + pseudonym(secret, m.group(1)), text),
    )


def _write_xlsx(
    header: Sequence[str], rows: Iterable[ExportRow], out: BinaryIO, progress: Callable[[int], None] | None
) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

    # write-only: rows go to a temporary file as they come, not into memory
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Ideeën")
    sheet.append(header)

    def text(value: str) -> str | WriteOnlyCell | None:
        # XML cannot hold most control characters; openpyxl would refuse the whole row
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
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
