"""Dutch wording that texts for people share: the command line's closing lines, the documents, errors."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable


def counted(n: int, one: str, many: str, *, shown: Callable[[int], str] = str) -> str:
    """'1 idee', '3 ideeën': a count with its noun in the right number. Dutch plurals follow no rule
    code could apply (idee/ideeën, thema/thema's, initiatief/initiatieven), so the caller names both.
    `shown` writes the number, for a page that groups thousands (1.000)."""
    return f"{shown(n)} {one if n == 1 else many}"


def decimal(value: float | None, places: int = 2) -> str:
    """A number as Dutch readers write it (0,35); '-' for none."""
    return "-" if value is None else f"{value:.{places}f}".replace(".", ",")


def percent(part: int, whole: int) -> str:
    """'12%': `part` of `whole` in whole percents, as the pages write shares. Only none is 0% and only
    all is 100%: rounded plainly, 999 of 1.000 posts still to review would read as all of them."""
    share = round(100 * part / whole)
    return f"{min(max(share, 1), 99) if 0 < part < whole else share}%"


# the reasons the system gives most for refusing to read or write a file
_OS_ERRORS = {
    errno.ENOSPC: "de schijf is vol",
    errno.EDQUOT: "de schijfruimte van deze gebruiker (quotum) is op",
    errno.EACCES: "geen toestemming",
    errno.EPERM: "geen toestemming",
    errno.EROFS: "de schijf is alleen te lezen",
    errno.ENOENT: "bestaat niet",
    errno.EISDIR: "is een map, geen bestand",
    errno.ENOTDIR: "een deel van het pad is geen map",
    errno.EEXIST: "er staat al een bestand met die naam",
    errno.EIO: "lees- of schrijffout van de schijf",
    errno.EFBIG: "het bestand wordt groter dan het systeem toestaat",
}


def os_error(error: OSError) -> str:
    """Why the system refused to read or write a file, in Dutch: Python says it in English
    ("No space left on device"). A rarer reason keeps the system's own words."""
    return _OS_ERRORS.get(error.errno, error.strerror or str(error))


# the conditions of the database itself (not of the SQL asked of it) under which SQLite refuses a
# read or write, by primary result code
_DATABASE_BUSY = "de database is bezet: een ander proces hield haar langer vast dan de harvester wacht"
_DATABASE_ERRORS = {
    sqlite3.SQLITE_BUSY: _DATABASE_BUSY,
    sqlite3.SQLITE_LOCKED: _DATABASE_BUSY,
    sqlite3.SQLITE_FULL: "de schijf is vol",
    sqlite3.SQLITE_READONLY: "de database is alleen te lezen",
    sqlite3.SQLITE_IOERR: "lees- of schrijffout van de schijf",
    sqlite3.SQLITE_CORRUPT: "het databasebestand is beschadigd",
    sqlite3.SQLITE_NOTADB: "het bestand is geen SQLite-database",
    sqlite3.SQLITE_CANTOPEN: "het databasebestand is niet te openen (bestaat de map, en mag de harvester daar schrijven?)",
}


def database_condition(error: sqlite3.Error) -> str | None:
    """Why SQLite refused, in Dutch, when the reason is the state of the database (busy, full,
    read-only, damaged, not to be opened): something an admin can act on. None for any other
    error, such as a syntax error, a missing column or a closed connection: those are bugs, and
    whoever catches them lets them go on with their traceback."""
    code = getattr(error, "sqlite_errorcode", None)
    return _DATABASE_ERRORS.get(code & 0xFF) if code is not None else None


def database_error(error: sqlite3.Error) -> str:
    """Why SQLite refused, in Dutch ("database is locked" is English); a rarer reason (a broken
    constraint) keeps SQLite's own words, which name the table and column."""
    return database_condition(error) or str(error)
