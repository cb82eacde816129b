"""What a queue filter matches as a whole: its totals (the queue's progress line) and its posts
(a bulk decision over everything under the filter).

Counting all matches of a filter on a million posts takes seconds, so a count can stop at `cap`
rows, and give up after `budget_ms`; it says whether it got to the end (`Totals.exact`). The
caller decides what to do with a larger one (the app counts it in full apart, and shows that
count with the time it was made).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection
from dataclasses import dataclass, field, replace

from ...models import Status
from .queue import QueueFilter, QueueStore


@dataclass(frozen=True)
class Totals:
    per_status: dict[str, int] = field(default_factory=dict)   # every status, 0 when none
    exact: bool = True                  # False: the count stopped at the cap; the true numbers are larger

    @property
    def total(self) -> int:
        return sum(self.per_status.values())

    @property
    def reviewed(self) -> int:
        return self.total - self.per_status.get(Status.NEW, 0)


class FilteredStore(QueueStore):
    def totals(self, flt: QueueFilter, cap: int | None = None, budget_ms: float | None = None) -> Totals | None:
        """Posts per status under `flt` whatever its status (the filter's other parts apply), the
        posts its sort lists (least certain first: classified ones only), so the count is of the
        posts a decision over the filter (`matching`) acts on.
        With `cap`, at most that many posts are counted; with `budget_ms`, None when the count
        takes longer (a filter that matches few of many posts reads many to find its cap)."""
        key, base, where, params, _ = self._select(replace(flt, status=None))
        limit = f" LIMIT {int(cap)}" if cap else ""
        sql = (f"SELECT status, count(*) FROM (SELECT coalesce(r.status, 'nieuw') AS status {base}"
               f" WHERE {' AND '.join(where) or '1'}{limit}) GROUP BY status")
        conn = self.db.conn
        if budget_ms is not None:
            deadline = time.monotonic() + budget_ms / 1000
            conn.set_progress_handler(lambda: time.monotonic() > deadline, 2000)
        try:
            rows = self.db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as e:
            if budget_ms is not None and "interrupted" in str(e):
                return None
            raise
        finally:
            if budget_ms is not None:
                conn.set_progress_handler(None, 0)
        per_status = {s: 0 for s in Status} | dict(rows)
        return Totals(per_status, exact=not cap or sum(per_status.values()) < cap)

    def matching(self, flt: QueueFilter, limit: int) -> dict[int, int]:
        """post id -> review version of the posts under `flt` (at most `limit`), for a bulk decision
        that names the version it saw of each, like one taken post by post."""
        key, base, where, params, order = self._select(flt)
        return dict(self.db.execute(
            f"SELECT p.id, coalesce(r.version, 0) {base} WHERE {' AND '.join(where) or '1'}"
            f" ORDER BY {order} LIMIT {int(limit)}", params).fetchall())

    def without_suggestion(self, post_ids, within: Collection[str] | None = None) -> set[int]:
        """Those of the posts the model assigned no theme, or none in `within` when given (an accept
        of the suggestion would save none; `DecisionStore.decide_many` keeps to `within` alike)."""
        ids = list(post_ids)
        if not ids:
            return set()
        marks = ", ".join("?" * len(ids))
        only = "" if within is None else " AND theme IN (SELECT value FROM json_each(?))"
        suggested = {r[0] for r in self.db.execute(
            f"SELECT DISTINCT post_id FROM post_themes WHERE assigned = 1 AND post_id IN ({marks}){only}",
            ids + ([] if within is None else [json.dumps(sorted(within))]))}
        return set(ids) - suggested
