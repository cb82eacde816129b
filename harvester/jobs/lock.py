"""One scheduler per database: the `scheduler_lock` row, refreshed by a heartbeat, taken over when
its owner died (a process gone on this host; on another host, no heartbeat for STALE_AFTER_SECONDS).

`harvester run`/`up` and `run --once` beat every HEARTBEAT_SECONDS from their main thread. A holder
on this host whose process still lives keeps the lock however old its heartbeat: it may be busy or
hung, and running a second scheduler beside it is what the lock is there to prevent."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
from datetime import UTC, datetime

from ..config import Config
from ..errors import HarvesterError
from ..store import Store
from ..store.lock import LockHolder
from ..timeutil import parse_iso

log = logging.getLogger("harvester.run")

HEARTBEAT_SECONDS = 30.0
# a lock on another host whose heartbeat is older than this belongs to a process that is gone or hung
STALE_AFTER_SECONDS = 180.0
# SIGTERM to exit: systemd and docker wait 10 s before they kill
# the lock connection must not sit behind a stuck writer when we leave
LOCK_BUSY_TIMEOUT_MS = 2000


class AlreadyRunning(HarvesterError):
    def __init__(self, holder: LockHolder):
        self.holder = holder
        super().__init__(
            f"er draait al een achtergrondtaak op deze database (proces {holder.pid} op {holder.host}, "
            f"laatste teken van leven {holder.heartbeat_at}); stop die eerst"
        )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def abandoned(holder: LockHolder) -> bool:
    """Whether the lock's owner is gone: its process died on this host, or (on another host, whose
    processes we cannot see) its heartbeat stopped. A new scheduler takes such a lock over, and
    `harvester status` no longer calls it running."""
    if holder.host == socket.gethostname():
        return not pid_alive(holder.pid)
    age = datetime.now(UTC) - parse_iso(holder.heartbeat_at)
    return age.total_seconds() > STALE_AFTER_SECONDS


class DatabaseLock:
    """This process's claim on the scheduler_lock row, on its own connection (the main thread's)."""

    def __init__(self, config: Config):
        self.pid, self.host = os.getpid(), socket.gethostname()
        self.store = Store(config.db_path)
        self.store.db.execute(f"PRAGMA busy_timeout = {LOCK_BUSY_TIMEOUT_MS}")

    def acquire(self) -> None:
        holder = self.store.scheduler_lock.acquire(self.pid, self.host, abandoned)
        if holder is not None:
            self.store.close()
            raise AlreadyRunning(holder)

    def beat(self) -> bool:
        """Refresh the heartbeat; False only when another process has taken the lock over."""
        try:
            return self.store.scheduler_lock.heartbeat(self.pid, self.host)
        except sqlite3.OperationalError as e:   # a long write holds the database: try again next beat
            log.warning("hartslag niet vastgelegd (%s); volgende poging over %.0f s", e, HEARTBEAT_SECONDS)
            return True

    def release(self) -> None:
        try:
            self.store.scheduler_lock.release(self.pid, self.host)
        except Exception as e:  # a writer still holds the database: the dead pid frees the lock later
            log.warning("slot niet vrijgegeven (%s); de volgende start neemt het over", e)
        finally:
            self.store.close()

