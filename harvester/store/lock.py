"""The scheduler lock: one row saying which process runs the background job on this database.

Taking, refreshing and releasing the row each happen in one transaction that holds the write lock
from its start (the Store's `atomic()` begins IMMEDIATE), so two processes starting at the same
moment cannot both decide the lock is theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from ..timeutil import utcnow


@dataclass(frozen=True)
class LockHolder:
    pid: int
    host: str
    heartbeat_at: str


class SchedulerLockStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def holder(self) -> LockHolder | None:
        row = self.db.execute("SELECT pid, host, heartbeat_at FROM scheduler_lock WHERE id = 1").fetchone()
        return LockHolder(*row) if row else None

    def acquire(self, pid: int, host: str, may_take: Callable[[LockHolder], bool]) -> LockHolder | None:
        """Take the lock for (pid, host); returns None on success, else the holder that keeps it.

        `may_take` decides whether someone else's lock is abandoned (dead process, stale heartbeat).
        """
        with self.db.atomic():
            current = self.holder()
            if current is not None and (current.pid, current.host) != (pid, host) and not may_take(current):
                return current
            self.db.execute(
                "INSERT OR REPLACE INTO scheduler_lock (id, pid, host, heartbeat_at) VALUES (1, ?, ?, ?)",
                [pid, host, utcnow()],
            )
        return None

    def heartbeat(self, pid: int, host: str) -> bool:
        """Refresh our heartbeat; False when the lock is no longer ours (someone took it over)."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE scheduler_lock SET heartbeat_at = ? WHERE id = 1 AND pid = ? AND host = ?",
                [utcnow(), pid, host],
            )
        return cursor.rowcount == 1

    def release(self, pid: int, host: str) -> None:
        """Give the lock up, if it is still ours."""
        with self.db.atomic():
            self.db.execute("DELETE FROM scheduler_lock WHERE id = 1 AND pid = ? AND host = ?", [pid, host])
