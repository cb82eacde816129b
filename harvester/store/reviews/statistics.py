"""Counts for the overview page: posts per status and theme, themes per week, active sources, and
how often editors agree with the model."""

from __future__ import annotations

from collections.abc import Iterator

import json
from dataclasses import dataclass, field

import sqlite_utils

from ...models import Status
from ...timeutil import utcnow
from .queue import DATE_KEY


@dataclass
class Overview:
    total: int = 0
    unclassified: int = 0
    per_status: dict[Status, int] = field(default_factory=dict)
    suggested_per_theme: dict[str, int] = field(default_factory=dict)
    accepted_per_theme: dict[str, int] = field(default_factory=dict)
    weeks: list[str] = field(default_factory=list)                 # Monday of each week, oldest first
    per_week: dict[str, dict[str, int]] = field(default_factory=dict)   # theme -> week -> posts
    sources: list[tuple[str, int]] = field(default_factory=list)   # most active in the chart's weeks
    agreement: dict[str, tuple[int, int]] = field(default_factory=dict)  # week -> (agreed, decided)


class StatisticsStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def overview(self, *, weeks: int = 12, today: str | None = None) -> Overview:
        """Counts for the overview page; the chart and the source ranking cover the last `weeks` weeks."""
        ov = Overview()
        ov.total = self.db.execute("SELECT count(*) FROM posts").fetchone()[0]
        ov.unclassified = ov.total - self.db.execute("SELECT count(*) FROM classifications").fetchone()[0]
        reviewed = dict(self.db.execute("SELECT status, count(*) FROM reviews GROUP BY status").fetchall())
        ov.per_status = {s: reviewed.get(s, 0) for s in Status}
        ov.per_status[Status.NEW] = ov.total - sum(v for s, v in reviewed.items() if s != Status.NEW)
        # one index range per theme: far cheaper than grouping every (post, theme) row
        themes = [r[0] for r in self.db.execute(
            "WITH RECURSIVE t(theme) AS (SELECT min(theme) FROM post_themes UNION ALL"
            " SELECT (SELECT min(theme) FROM post_themes WHERE theme > t.theme) FROM t WHERE t.theme IS NOT NULL)"
            " SELECT theme FROM t WHERE theme IS NOT NULL")]
        ov.suggested_per_theme = {
            theme: n for theme in themes
            if (n := self.db.execute("SELECT count(*) FROM post_themes WHERE theme = ? AND assigned = 1",
                                     [theme]).fetchone()[0])
        }
        ov.accepted_per_theme = dict(self.db.execute(
            "SELECT j.value, count(*) FROM reviews r, json_each(r.themes) j"
            " WHERE r.status = 'geaccepteerd' GROUP BY j.value").fetchall())
        today = today or utcnow()[:10]
        first = self.db.execute("SELECT date(?, '-6 days', 'weekday 1', ?)",
                                [today, f"-{7 * (weeks - 1)} days"]).fetchone()[0]
        ov.weeks = [
            r[0] for r in self.db.execute(
                "WITH RECURSIVE w(d) AS (SELECT ? UNION ALL SELECT date(d, '+7 days') FROM w WHERE d < date(?, '-6 days'))"
                " SELECT d FROM w", [first, today],
            )
        ]
        # a post's themes: the editor's when accepted, none when rejected or a duplicate, else the model's
        for theme, week, n in self.db.execute(
            f"""
            WITH recent AS (
                SELECT p.id, date({DATE_KEY}, '-6 days', 'weekday 1') AS week, r.status, r.themes
                FROM posts p LEFT JOIN reviews r ON r.post_id = p.id WHERE {DATE_KEY} >= ?
            )
            SELECT t.theme, week, count(*) FROM recent JOIN post_themes t ON t.post_id = recent.id AND t.assigned = 1
                WHERE coalesce(recent.status, 'nieuw') = 'nieuw' GROUP BY t.theme, week
            UNION ALL
            SELECT j.value, week, count(*) FROM recent, json_each(recent.themes) j
                WHERE recent.status = 'geaccepteerd' GROUP BY j.value, week
            """,
            [first],
        ):
            per = ov.per_week.setdefault(theme, {})
            per[week] = per.get(week, 0) + n
        ov.sources = [
            tuple(r) for r in self.db.execute(
                f"SELECT s.name, count(*) FROM posts p CROSS JOIN sightings g ON g.post_id = p.id"
                f" JOIN sources s ON s.id = g.source_id WHERE {DATE_KEY} >= ?"
                " GROUP BY s.id ORDER BY count(*) DESC, s.name LIMIT 10", [first],
            )
        ]
        ov.agreement = self.agreement(first)
        return ov

    def agreement(self, since: str) -> dict[str, tuple[int, int]]:
        """Per week (its Monday) since `since`: of the posts first decided that week and now accepted or
        rejected, how many (agreed, decided). A decision agrees when the editor's themes now are the
        themes the model had assigned when the post was first decided (rejected: none); posts that were
        not classified then are left out."""
        weeks: dict[str, tuple[int, int]] = {}
        for _, week, agrees in self._first_decisions(since):
            agreed, decided = weeks.get(week, (0, 0))
            weeks[week] = (agreed + agrees, decided + 1)
        return weeks

    def agreement_in(self, windows: list[tuple[str, str]]) -> list[tuple[int, int]]:
        """`agreement` per [start, stop) window of UTC text (the overview's Dutch weeks), in window order."""
        result = [(0, 0)] * len(windows)
        if not windows:
            return result
        for at, _, agrees in self._first_decisions(min(start for start, _ in windows)):
            for n, (start, stop) in enumerate(windows):
                if start <= at < stop:
                    agreed, decided = result[n]
                    result[n] = (agreed + agrees, decided + 1)
        return result

    def _first_decisions(self, since: str) -> Iterator[tuple[str, str, bool]]:
        """(time, its UTC week's Monday, agrees) of each accepted or rejected post's first decision since `since`."""
        for at, week, status, themes, suggested in self.db.execute(
            "SELECT e.at, date(e.at, '-6 days', 'weekday 1'), r.status, r.themes, e.suggested"
            " FROM reviews r JOIN review_events e ON e.id = (SELECT min(f.id) FROM review_events f"
            "   WHERE f.post_id = r.post_id AND f.action IN ('accept', 'set_themes', 'reject'))"
            " WHERE r.status IN ('geaccepteerd', 'afgewezen') AND e.suggested IS NOT NULL AND e.at >= ?",
            [since],
        ):
            final = set(json.loads(themes)) if status == Status.ACCEPTED else set()
            yield at, week, final == set(json.loads(suggested))
