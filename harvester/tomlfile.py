"""The one reader of the TOML files people edit: the config, the themes and the initiatives.

They are written by admins and editors, some in Windows Notepad, which saves UTF-8 with a byte-order
mark in front: TOML does not allow one, so tomllib refused the whole file at "line 1, column 1".
Here the mark is no part of the text. tomllib says what is wrong in English; a person reading
our Dutch line gets it in Dutch, with the line and column, from the fixed set of its messages
(a message a later Python adds passes through in English, after the Dutch position).
`read_edited` is the decoding alone, for the other files people edit (the labelled JSON lines).
"""

from __future__ import annotations

import ast
import os
import re
import tomllib
from pathlib import Path

from .errors import UsageError
from .normalize import one_newline


class TomlError(UsageError):
    """A file that is no valid TOML or no UTF-8; the Dutch message leaves naming the file to the
    caller, which raises its own error (ConfigError, ThemesError, InitiativesError) with it."""


# tomllib's message, then "(at line L, column C)" or "(at end of document)"
_POSITION = re.compile(r"(?P<message>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)", re.S)
# tomllib's messages (Python 3.11 on) in Dutch; the first that matches whole
_DUTCH = [(re.compile(english), dutch) for english, dutch in [
    (r"Invalid statement", "hier hoort een sleutel = waarde of een [tabel]"),
    (r"Expected newline or end of document after a statement", "na de waarde hoort de regel te eindigen"),
    (r"Expected ']' at the end of a table declaration", "']' ontbreekt achter de naam van de tabel"),
    (r"Expected ']]' at the end of an array declaration", "']]' ontbreekt achter de naam van de tabel"),
    (r"Expected '=' after a key in a key/value pair", "'=' ontbreekt achter de sleutel"),
    (r"Expected (?P<what>.+)", "{what} verwacht"),
    (r"Illegal character '\\n'", "tekst niet afgesloten met een aanhalingsteken voor het eind van de regel"),
    (r"(?:Found invalid|Illegal) character (?P<what>.+)", "ongeldig teken {what}"),
    (r"Cannot declare (?P<what>.+) twice", "{what} staat er twee keer"),
    (r"Cannot overwrite a value", "deze sleutel heeft al een waarde"),
    (r"Cannot (?:mutate immutable|redefine) namespace (?P<what>.+)", "{what} is al vastgelegd; vul het hier niet aan"),
    (r"Duplicate inline table key (?P<what>.+)", "sleutel {what} staat twee keer in de tabel"),
    (r"Invalid initial character for a key part", "ongeldig teken aan het begin van een sleutel"),
    (r"Unclosed array", "lijst niet afgesloten met ']'"),
    (r"Unclosed inline table", "tabel niet afgesloten met '}'"),
    (r"Unterminated string", "tekst niet afgesloten met een aanhalingsteken"),
    (r"Unescaped '\\' in a string", "losse '\\' in een tekst (schrijf '\\\\' of gebruik enkele aanhalingstekens)"),
    (r"Invalid hex value|Escaped character is not a Unicode scalar value", "ongeldige \\u-code in een tekst"),
    (r"Invalid date or datetime", "ongeldige datum of tijd"),
    (r"Invalid value", "ongeldige waarde (tekst hoort tussen aanhalingstekens)"),
]]


def read_toml(path: Path) -> tuple[dict, str]:
    """The parsed file and its text (line ends as '\\n', without a byte-order mark). A missing file
    raises FileNotFoundError: the caller says which file it was looking for."""
    try:
        text = read_edited(path)
    except ValueError as e:
        raise TomlError(str(e)) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as e:
        raise TomlError(dutch_message(str(e))) from None


def read_edited(path: Path) -> str:
    """The text of a file people edit (TOML, JSON lines): UTF-8 with or without the byte-order mark
    Notepad writes, line ends as '\\n'. Not UTF-8: a ValueError says in Dutch on which line; a
    missing file raises FileNotFoundError."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(f"geen UTF-8-tekst (regel {line}); sla het bestand op als UTF-8") from None
    return one_newline(text)   # as Python reads a text file


def file_state(path: str | Path) -> tuple[int, int] | None:
    """A file's modification time and size: cheap enough to ask on every use, so whoever keeps what
    it read from an edited file (the classifier, the review app's themes) sees that it changed and
    reads it anew, without a restart. None if the file is missing."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def dutch_message(error: str) -> str:
    """tomllib's error message in Dutch: 'geen geldige TOML op regel 1, kolom 14: ...'."""
    found = _POSITION.fullmatch(error)
    if found is None:
        return f"geen geldige TOML: {error}"
    where = f"op regel {found['line']}, kolom {found['column']}" if found["line"] else "aan het eind van het bestand"
    message = found["message"]
    for english, dutch in _DUTCH:
        match = english.fullmatch(message)
        if match:
            message = dutch.replace("{what}", _key(match["what"])) if "what" in english.groupindex else dutch
            break
    return f"geen geldige TOML {where}: {message}"


def _key(what: str) -> str:
    """A key as the file writes it: tomllib names one as a Python tuple, "('a', 'b')" for a.b."""
    try:
        parts = ast.literal_eval(what)
    except (ValueError, SyntaxError):
        return what
    return repr(".".join(parts)) if isinstance(parts, tuple) and all(isinstance(p, str) for p in parts) else what
