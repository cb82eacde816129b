"""The movement overview: headline figures now and per Dutch week, and ideas per theme per week.

Weeks run from Monday 00:00 to Monday 00:00 in Dutch time (Europe/Amsterdam), so a week around a
change to or from summer time lasts 167 or 169 hours; the store counts within the UTC bounds this
module gives it. The week that holds `now` is not over yet and says so (`complete` False).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .export import AMSTERDAM
from .store import Store
from .store.movement import Figures
from .store.reviews import Overview
from .timeutil import to_utc_iso

# everything ever stored: stored times are ISO text, which sorts between these two
ALL_TIME = ("", "~")


@dataclass(frozen=True)
class Week:
    monday: date                  # its first day, in Dutch time
    start: str                    # Monday 00:00 Dutch time, as stored UTC text
    stop: str                     # the next Monday 00:00
    complete: bool                # False for the week that is still going on
    figures: Figures
    per_theme: dict[str, int]     # theme id -> ideas
    agreement: tuple[int, int]    # of the posts first decided this week: (agreed with the model, decided)

    @property
    def label(self) -> str:
        return f"{self.monday:%d-%m}"


@dataclass(frozen=True)
class Movement:
    now: datetime                 # when it was counted, in Dutch time
    total: Figures                # everything stored
    weeks: list[Week]             # oldest first; the last is the current week


def local_midnight_utc(day: date) -> str:
    return to_utc_iso(datetime.combine(day, time(), tzinfo=AMSTERDAM))


def dutch_weeks(now: datetime, count: int) -> list[tuple[date, str, str]]:
    """The last `count` weeks up to and including the one holding `now`: (Monday, start, stop)."""
    today = now.astimezone(AMSTERDAM).date()
    monday = today - timedelta(days=today.weekday())
    mondays = [monday - timedelta(weeks=k) for k in range(count - 1, -1, -1)]
    return [(m, local_midnight_utc(m), local_midnight_utc(m + timedelta(weeks=1))) for m in mondays]


def movement(store: Store, now: datetime, weeks: int = 12) -> Movement:
    bounds = dutch_weeks(now, weeks)
    windows = [ALL_TIME] + [(start, stop) for _, start, stop in bounds]
    figures = store.movement.figures(windows)
    themes = store.movement.ideas_per_theme(windows[1:])
    agreement = store.reviews.agreement_in(windows[1:])
    now_utc = to_utc_iso(now)
    return Movement(
        now=now.astimezone(AMSTERDAM), total=figures[0],
        weeks=[Week(monday, start, stop, stop <= now_utc, f, t, a)
               for (monday, start, stop), f, t, a in zip(bounds, figures[1:], themes, agreement)],
    )


def overview_figures(store: Store, now: datetime, weeks: int = 12) -> tuple[Overview, Movement]:
    """What the overview page shows: the movement, and the review state with the sources most active
    in the movement's Dutch weeks (from the oldest week's Monday 00:00 Dutch time, not a UTC date)."""
    counted = movement(store, now, weeks)
    return store.reviews.overview(sources_since=counted.weeks[0].start), counted
