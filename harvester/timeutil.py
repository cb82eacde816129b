"""Timestamps: stored as ISO 8601 text in UTC, so they sort and compare as text.

Our own clock keeps milliseconds (an edit and a classification in the same second must still
order); times from sources keep seconds. Both forms compare correctly as text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

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
