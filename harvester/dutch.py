"""Dutch wording that texts for people share: the command line's closing lines, the documents, errors."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable
from xml.parsers.expat import errors as expat


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


# what expat, the XML parser under feedparser, says most about a feed that is not well-formed
_XML_ERRORS = {
    expat.XML_ERROR_INVALID_TOKEN: "ongeldig teken",
    expat.XML_ERROR_NO_ELEMENTS: "het document houdt hier op",
    expat.XML_ERROR_TAG_MISMATCH: "eindtag past niet bij de open tag",
    expat.XML_ERROR_UNCLOSED_TOKEN: "tag niet afgesloten",
    expat.XML_ERROR_PARTIAL_CHAR: "afgebroken teken",
    expat.XML_ERROR_JUNK_AFTER_DOC_ELEMENT: "tekst na het einde van het document",
    expat.XML_ERROR_UNDEFINED_ENTITY: "onbekende entiteit (een &-code die XML niet kent, zoals &nbsp;)",
    expat.XML_ERROR_BAD_CHAR_REF: "verwijzing naar een teken dat niet bestaat",
    expat.XML_ERROR_DUPLICATE_ATTRIBUTE: "attribuut twee keer in dezelfde tag",
    expat.XML_ERROR_UNBOUND_PREFIX: "voorvoegsel zonder namespace",
    expat.XML_ERROR_MISPLACED_XML_PI: "XML-declaratie staat niet aan het begin",
    expat.XML_ERROR_UNCLOSED_CDATA_SECTION: "CDATA-blok niet afgesloten",
    expat.XML_ERROR_SYNTAX: "syntaxfout",
    expat.XML_ERROR_XML_DECL: "XML-declaratie niet goed geschreven",
    expat.XML_ERROR_INCORRECT_ENCODING: "tekencodering in de XML-declaratie klopt niet",
    expat.XML_ERROR_UNKNOWN_ENCODING: "onbekende tekencodering",
}


def xml_error(message: str, line: int, column: int) -> str:
    """Where and why an XML document is not well-formed, in Dutch: 'regel 2, kolom 1: ongeldig
    teken'. `message` is expat's English text ("not well-formed (invalid token)"); a rarer one is
    left out rather than shown in English, the place is what lets the admin find the fault.
    `column` counts from 0, as expat does; it is shown counted from 1, as editors do."""
    reason = _XML_ERRORS.get(message)
    return f"regel {line}, kolom {column + 1}" + (f": {reason}" if reason else "")
