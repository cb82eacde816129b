"""The queue's progress line ("12 van 140 beoordeeld"), also on a million posts.

A page counts its filter's posts itself while that is cheap: at most CAP posts within BUDGET_MS.
A larger count is made apart, in a background thread on its own read connection (the app's
store belongs to the event loop's thread), one at a time, and kept for KEEP_SECONDS; until it is
there the page says the count is running, and once it is, the page shows it with the time it was
made, since decisions may have moved it since.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace

from ..store import Store
from ..store.reviews import QueueFilter, Totals
from ..timeutil import dutch_time, utcnow

CAP = 2000
BUDGET_MS = 15
KEEP_SECONDS = 300
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counted:
    totals: Totals | None        # None: not counted yet (the count is running)
    at: str | None = None        # Dutch time of a count made apart; None: counted for this page
    more_than: int = 0           # when not counted yet: at least this many (CAP), or 0 if unknown


class Counter:
    """Full counts of large filters, made in the background and kept a while (one per app)."""

    def __init__(self, db_path):
        self.db_path = db_path
        self.kept: dict[QueueFilter, tuple[float, str, Totals]] = {}
        self.running: QueueFilter | None = None
        self.lock = threading.Lock()

    def count(self, store: Store, flt: QueueFilter) -> Counted:
        key = replace(flt, status=None, sort="date")
        totals = store.reviews.totals(key, cap=CAP, budget_ms=BUDGET_MS)
        if totals is not None and totals.exact:
            return Counted(totals)
        with self.lock:
            kept = self.kept.get(key)
            if kept and time.monotonic() - kept[0] < KEEP_SECONDS:
                return Counted(kept[2], at=kept[1])
            if self.running is None:
                self.running = key
                threading.Thread(target=self._count, args=(key,), daemon=True, name="queue-count").start()
        return Counted(None, more_than=CAP if totals is not None else 0)

    def _count(self, key: QueueFilter) -> None:
        try:
            with Store(self.db_path, migrate=False) as store:
                totals = store.reviews.totals(key)
            with self.lock:
                now = time.monotonic()
                self.kept = {k: v for k, v in self.kept.items() if now - v[0] < KEEP_SECONDS}
                self.kept[key] = (now, dutch_time(utcnow())[11:], totals)
        except Exception as e:   # a count is a convenience: the queue works without it
            log.warning("telling onder een filter mislukt: %s: %s", type(e).__name__, e)
        finally:
            with self.lock:
                self.running = None
