"""Back-off of a failing source: derived from the runs table, so it survives restarts and
`harvester status` can show it without loading the scheduler (and spaCy with it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..config import ScheduleConfig, Source
from ..models import SourceStatus
from ..store import Store
from ..timeutil import parse_iso


def backoff_delay(interval_minutes: float, failures: int, schedule: ScheduleConfig) -> timedelta:
    """How long a source waits after `failures` failed runs in a row: interval * 2^failures, capped."""
    cap = schedule.max_backoff_hours * 3600
    return timedelta(seconds=min(interval_minutes * 60 * 2 ** min(failures, 32), cap))


def next_attempt(status: SourceStatus, source: Source, schedule: ScheduleConfig) -> datetime | None:
    """When a failing source may be tried again (counted from the start of its last failed run)."""
    if status.consecutive_failures == 0 or status.last_run_at is None:
        return None
    return parse_iso(status.last_run_at) + backoff_delay(source.interval_minutes, status.consecutive_failures, schedule)


def backoff_until(store: Store, source: Source, schedule: ScheduleConfig, now: datetime) -> datetime | None:
    """The time a source in back-off waits for, or None when it may run now."""
    for status in store.runs.status():
        if status.name == source.name:
            until = next_attempt(status, source, schedule)
            return until if until is not None and until > now else None
    return None
