"""Timestamps: stored as ISO 8601 text in UTC, so they sort and compare as text.

Our own clock keeps milliseconds (an edit and a classification in the same second must still
order); times from sources keep seconds. Both forms compare correctly as text.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .errors import quoted

# the earliest and latest day a person may name (a filter, an export): its start and end must stay
# valid datetimes in every time zone (a day of year 1 or 9999 overflows when it is converted to UTC)
MIN_DAY, MAX_DAY = date(1900, 1, 1), date(9998, 12, 31)
# the time people here read: exports and the review app show stored UTC times in it
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def to_utc_iso(value: datetime) -> str:
    """A datetime as stored text; a naive datetime is taken to be UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(value: str) -> datetime:
    """Parse stored or API text (ISO 8601, 'Z' allowed) into an aware datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def dutch_time(value: str | None, *, seconds: bool = False) -> str:
    """A stored UTC time as people here read it: '2026-12-06 19:16' in Dutch time ('' for none)."""
    if not value:
        return ""
    return parse_iso(value).astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def parse_day(text: str) -> date:
    """A day a person typed (JJJJ-MM-DD, spaces around allowed) from MIN_DAY to MAX_DAY. A ValueError
    says in Dutch what is wrong; each caller raises it as its own error, after the field's name."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{quoted(text)} is geen datum; schrijf JJJJ-MM-DD, bijvoorbeeld 2013-05-14") from None
    if not MIN_DAY <= day <= MAX_DAY:
        raise ValueError(f"kies een datum van {MIN_DAY} tot en met {MAX_DAY}")
    return day


def dutch_day_start(day: date | str, *, days_later: int = 0) -> str:
    """The stored UTC form of midnight in Dutch time at the start of `day` (plus `days_later`):
    a day someone here names runs from this to the next one's."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return to_utc_iso(datetime.combine(day + timedelta(days=days_later), time(), tzinfo=AMSTERDAM))
