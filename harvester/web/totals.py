"""The queue's progress line ("12 van 140 beoordeeld"), also on a million posts.

A page counts its filter's posts itself while that is cheap: at most CAP posts within BUDGET_MS
(a fifth of the 50 ms a page may take on a million posts, docs/benchmarks.md).
A larger count is made apart, in a background thread on its own read connection (the app's
store belongs to the event loop's thread), one at a time, and kept for KEEP_SECONDS; until it is
there the page says the count is running, and once it is, the page shows it with the time it was
made, since decisions may have moved it since.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass, replace

from ..store import Store
from ..store.reviews import QueueFilter, Totals
from ..timeutil import dutch_time, utcnow

CAP = 1000
BUDGET_MS = 10
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
        self.large: dict[QueueFilter, int] = {}    # too large to count in a page; waiting for the full count
        self.running: QueueFilter | None = None
        self.lock = threading.Lock()

    def count(self, store: Store, flt: QueueFilter) -> Counted:
        key = replace(flt, status=None)   # every status; the sort stays: it decides which posts are listed
        with self.lock:
            kept = self.kept.get(key)
            if kept and time.monotonic() - kept[0] < KEEP_SECONDS:   # counted lately: that count
                return Counted(kept[2], at=kept[1])
            if key in self.large:   # known to be large: not counted again in the page
                self._start(key)
                return Counted(None, more_than=self.large[key])
        totals = store.reviews.totals(key, cap=CAP, budget_ms=BUDGET_MS)
        if totals is not None and totals.exact:
            return Counted(totals)
        with self.lock:
            if len(self.large) > 1000:   # bounded, however many filters editors try
                self.large.clear()
            self.large[key] = CAP if totals is not None else 0
            self._start(key)
        return Counted(None, more_than=self.large[key])

    def _start(self, key: QueueFilter) -> None:
        """Count `key` in full in the background, unless a count runs already (one at a time:
        the next page of a waiting filter starts it). Called holding the lock."""
        if self.running is None:
            self.running = key
            threading.Thread(target=self._count, args=(key,), daemon=True, name="queue-count").start()

    def _count(self, key: QueueFilter) -> None:
        _lower_priority()
        try:
            with Store(self.db_path, migrate=False) as store:
                totals = store.reviews.totals(key)
            with self.lock:
                now = time.monotonic()
                self.kept = {k: v for k, v in self.kept.items() if now - v[0] < KEEP_SECONDS}
                self.kept[key] = (now, dutch_time(utcnow())[11:], totals)
                self.large.pop(key, None)
        except Exception as e:   # a count is a convenience: the queue works without it
            log.warning("telling onder een filter mislukt: %s: %s", type(e).__name__, e)
        finally:
            with self.lock:
                self.running = None


def _lower_priority() -> None:
    """On Linux a thread has a nice value of its own: the count yields the CPU to the pages editors
    wait for (measured on 1M posts, a full count otherwise slowed concurrent pages by a third)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
