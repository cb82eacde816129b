"""Request parameters, parsed once: a value that cannot be what a route expects is a 400 in Dutch.

The parsers raise `BadParameter`; the app turns it into the error page inside the layout (with the
security headers, like every response). Numbers that reach SQLite are range-checked here, since
SQLite's integers are 64-bit and a larger one is an OverflowError, not a miss.
"""

from __future__ import annotations

import math
import re
from datetime import date

from ..errors import UsageError, quoted
from ..timeutil import parse_day

# ids and counts SQLite can hold: 1 .. 2^63 - 1
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


class BadParameter(UsageError):
    """A request parameter that cannot be used; the message is the Dutch text the editor sees."""


def integer(value: object, what: str, *, minimum: int = 0, maximum: int = MAX_ID) -> int:
    """A whole number written in ASCII digits (no sign, no '²' or '١'), within [minimum, maximum]."""
    text = str(value).strip() if value is not None else ""
    if not _DIGITS.fullmatch(text) or not minimum <= int(text) <= maximum:
        raise BadParameter(f"{what} moet een geheel getal zijn van {minimum} tot en met {maximum}, niet {quoted(text)}.")
    return int(text)


def optional_integer(value: object, what: str, **limits: int) -> int | None:
    return None if value is None or str(value).strip() == "" else integer(value, what, **limits)


def post_id(value: object) -> int:
    """A post number as it appears in a path or a form field."""
    return integer(value, "Een postnummer", minimum=1)


def day(value: str | None, what: str) -> date | None:
    """A day written JJJJ-MM-DD (`timeutil.parse_day`); None when empty."""
    if value is None or not value.strip():
        return None
    try:
        return parse_day(value)
    except ValueError as problem:
        raise BadParameter(f"{what}: {problem}.") from None


def cursor(value: str | None, sort: str) -> str | None:
    """The queue's `after` as the store writes it ('value|id'): the id in range, a score finite."""
    if not value:
        return None
    key, sep, last = value.rpartition("|")
    problem = "De paginaverwijzing (after) is ongeldig; begin opnieuw op de eerste pagina."
    if not sep or not key or not _DIGITS.fullmatch(last) or not 1 <= int(last) <= MAX_ID:
        raise BadParameter(problem)
    if sort == "confidence":
        try:
            if not math.isfinite(float(key)):
                raise ValueError(key)
        except ValueError:
            raise BadParameter(problem) from None
    return value
