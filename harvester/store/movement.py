"""How big the movement is: posts, ideas, authors, instances and sites within time windows.

The caller names the windows as UTC bounds (harvester.movement makes them Dutch weeks); the store
counts. A post the editors rejected as spam counts nowhere here: not as a post, nor its author,
instance, site or the initiatives it names (as on the Initiatieven pages, store/initiatives.py); a
spammer is no part of the movement. An idea is a post that is not rejected and not a duplicate, a
group of posts (store/groups.py) counting once. A post's themes: the editor's once accepted, the model's while
new (rejected posts and duplicates have none), as on the overview before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from .reviews.decisions import REJECTED_AS_SPAM
from .reviews.queue import DATE_KEY   # the windows walk the index posts_queue_date

# a feed post's site: the host of its link (Bluesky posts are neither instance nor site)
_HOST = ("lower(substr(substr(p.url, instr(p.url, '://') + 3), 1, CASE instr(substr(p.url, instr(p.url, '://') + 3), '/')"
         " WHEN 0 THEN length(p.url) ELSE instr(substr(p.url, instr(p.url, '://') + 3), '/') - 1 END))")
# a Mastodon author's instance: what follows the '@' of the account
_INSTANCE = "lower(substr(a.key, instr(a.key, '@') + 1))"
# one idea per group, else per post (group ids negated so they never meet a post id)
_IDEA = "coalesce(-m.group_id, p.id)"

_ROWS = f"""
WITH windows(n, start, stop) AS (
    SELECT key, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:windows)
),
rows AS (
    SELECT w.n, p.id, p.kind, p.url, p.author_id, a.key AS author_key, coalesce(r.status, 'nieuw') AS status,
           r.themes, {_IDEA} AS idea,
           CASE WHEN p.kind = 'mastodon' AND instr(a.key, '@') THEN {_INSTANCE} END AS instance,
           CASE WHEN p.kind = 'feed' AND instr(p.url, '://') THEN {_HOST} END AS site
    FROM windows w JOIN posts p ON {DATE_KEY} >= w.start AND {DATE_KEY} < w.stop
         LEFT JOIN reviews r ON r.post_id = p.id
         LEFT JOIN authors a ON a.id = p.author_id
         LEFT JOIN idea_group_members m ON m.post_id = p.id
    WHERE NOT {REJECTED_AS_SPAM}
)"""


@dataclass(frozen=True)
class Figures:
    posts: int = 0
    ideas: int = 0            # not rejected, not a duplicate; a group once
    accepted: int = 0         # of those, accepted
    authors: int = 0
    instances: int = 0        # Mastodon instances the authors post from
    sites: int = 0            # hosts of the feed posts' links
    initiatives: int = 0      # initiatives the posts name (store/initiatives.py)


class MovementStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def figures(self, windows: list[tuple[str, str]]) -> list[Figures]:
        """The figures of the posts dated in each [start, stop) window (UTC ISO text), in window order."""
        named = dict(self.db.execute(
            f"""{_ROWS}
            SELECT rows.n, count(DISTINCT i.initiative) FROM rows JOIN post_initiatives i ON i.post_id = rows.id
            GROUP BY rows.n""", {"windows": json.dumps(windows)}).fetchall())
        found = {
            row[0]: Figures(*row[1:], initiatives=named.get(row[0], 0)) for row in self.db.execute(
                f"""{_ROWS}
                SELECT n, count(*),
                       count(DISTINCT CASE WHEN status IN ('nieuw', 'geaccepteerd') THEN idea END),
                       count(DISTINCT CASE WHEN status = 'geaccepteerd' THEN idea END),
                       count(DISTINCT author_id), count(DISTINCT instance), count(DISTINCT site)
                FROM rows GROUP BY n""", {"windows": json.dumps(windows)})
        }
        return [found.get(n, Figures()) for n in range(len(windows))]

    def ideas_per_theme(self, windows: list[tuple[str, str]]) -> list[dict[str, int]]:
        """Per window: theme id -> ideas with that theme (a group once)."""
        result: list[dict[str, int]] = [{} for _ in windows]
        for n, theme, count in self.db.execute(
            f"""{_ROWS}
            SELECT n, theme, count(DISTINCT idea) FROM (
                SELECT rows.n, t.theme, rows.idea FROM rows
                    JOIN post_themes t ON t.post_id = rows.id AND t.assigned = 1 WHERE rows.status = 'nieuw'
                UNION ALL
                SELECT rows.n, j.value, rows.idea FROM rows, json_each(rows.themes) j WHERE rows.status = 'geaccepteerd'
            ) GROUP BY n, theme""", {"windows": json.dumps(windows)},
        ):
            result[n][theme] = count
        return result
