"""Counts for the overview page: posts per status and theme, active sources, and how often editors
agree with the model (per window, for the movement's Dutch weeks). The caller names the time bounds
(harvester.movement makes them Dutch weeks); the store counts within them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlite_utils

from ...models import Status
from .queue import DATE_KEY


@dataclass
class Overview:
    total: int = 0
    unclassified: int = 0
    per_status: dict[Status, int] = field(default_factory=dict)
    suggested_per_theme: dict[str, int] = field(default_factory=dict)
    accepted_per_theme: dict[str, int] = field(default_factory=dict)
    sources: list[tuple[str, int]] = field(default_factory=list)   # most active since `sources_since`


class StatisticsStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def overview(self, *, sources_since: str) -> Overview:
        """Counts for the overview page; the source ranking covers the posts dated from `sources_since`
        (UTC ISO text: the start of the movement's oldest Dutch week)."""
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
        ov.sources = [
            tuple(r) for r in self.db.execute(
                f"SELECT s.name, count(*) FROM posts p CROSS JOIN sightings g ON g.post_id = p.id"
                f" JOIN sources s ON s.id = g.source_id WHERE {DATE_KEY} >= ?"
                " GROUP BY s.id ORDER BY count(*) DESC, s.name LIMIT 10", [sources_since],
            )
        ]
        return ov

    def agreement_in(self, windows: list[tuple[str, str]]) -> list[tuple[int, int]]:
        """Per [start, stop) window of UTC text (the overview's Dutch weeks), in window order: of the posts
        first decided in that window and now accepted or rejected, how many (agreed, decided). A decision
        agrees when the editor's themes now are the themes the model had assigned when the post was first
        decided (rejected: none); posts that were not classified then are left out."""
        result = [(0, 0)] * len(windows)
        if not windows:
            return result
        for at, status, themes, suggested in self.db.execute(
            "SELECT e.at, r.status, r.themes, e.suggested"
            " FROM reviews r JOIN review_events e ON e.id = (SELECT min(f.id) FROM review_events f"
            "   WHERE f.post_id = r.post_id AND f.action IN ('accept', 'set_themes', 'reject'))"
            " WHERE r.status IN ('geaccepteerd', 'afgewezen') AND e.suggested IS NOT NULL AND e.at >= ?",
            [min(start for start, _ in windows)],
        ):
            final = set(json.loads(themes)) if status == Status.ACCEPTED else set()
            agrees = final == set(json.loads(suggested))
            for n, (start, stop) in enumerate(windows):
                if start <= at < stop:
                    agreed, decided = result[n]
                    result[n] = (agreed + agrees, decided + 1)
        return result
