"""What lets the jobs run side by side and stop within a bound: the count of running jobs and the
write gate that lets the purge run alone."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Running:
    """Counts job runs in progress, so a stop can wait for them with a bound."""

    count: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)

    @contextmanager
    def one(self) -> Iterator[None]:
        with self.cond:
            self.count += 1
        try:
            yield
        finally:
            with self.cond:
                self.count -= 1
                self.cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.count == 0, timeout)


class WriteGate:
    """Lets collections (and the other writing jobs) run side by side, and the purge alone.

    The purge holds the write lock for seconds, VACUUM for as long as it rewrites the file (about 5 s
    for 200,000 posts on a quiet machine, over 20 s on a busy one: docs/benchmarks.md). A collector
    writing meanwhile would give up after the busy timeout (10 s) and count as failed. So the purge
    waits until running jobs are done, and jobs that want to start wait for it (it goes first once
    it waits, or a busy schedule would starve it).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = self._waiting = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not (self._exclusive or self._waiting))
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not (self._exclusive or self._waiting))
            self._waiting = True
            self._cond.wait_for(lambda: self._shared == 0)
            self._waiting, self._exclusive = False, True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()



class OneAtATime:
    """Work that runs once at a time and never makes a caller wait: a call while it runs asks the
    running one to look again when it is done, and returns at once (classifying, matching)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted = threading.Event()

    def run(self, work: Callable[[], bool], stop: threading.Event) -> bool:
        """Do `work` until nobody wants it again (or `stop` is set); False if a round of it failed."""
        self._wanted.set()
        ok = True
        while self._wanted.is_set() and not stop.is_set():
            if not self._lock.acquire(blocking=False):
                return ok
            try:
                while self._wanted.is_set() and not stop.is_set():
                    self._wanted.clear()
                    ok = work() and ok
            finally:
                self._lock.release()
        return ok
