"""Timestamps: stored as ISO 8601 text in UTC, so they sort and compare as text.

Our own clock keeps milliseconds (an edit and a classification in the same second must still
order); times from sources keep seconds. Both forms compare correctly as text.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

# the earliest and latest day a person may name (a filter, an export): its start and end must stay
# valid datetimes in every time zone (a day of year 1 or 9999 overflows when it is converted to UTC)
MIN_DAY, MAX_DAY = date(1900, 1, 1), date(9998, 12, 31)


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
