"""One scheduler per database: the `scheduler_lock` row, refreshed by a heartbeat, taken over when
its owner died (on this host: its process is gone; on another host: no heartbeat for
STALE_AFTER_SECONDS).

`harvester run`/`up` and `run --once` beat every HEARTBEAT_SECONDS from their main thread. A holder
on this host whose process still lives keeps the lock however old its heartbeat: it may be busy or
hung, and running a second scheduler beside it is what the lock is there to prevent (unless /proc
hides it, hidepid: then its heartbeat decides, as on another host). A pid alone does
not say that its process lives: once the process died (or the machine restarted) the pid may be
handed to another one, and the lock would be held forever. So on Linux a process that started after
its last heartbeat is not the one that beat (and a zombie has ended); elsewhere a heartbeat from
before the boot is the one case that can be told. The same tests tell `harvester status`, and a new run of
the same source, whether a run still marked running lost its process (`run_abandoned`): every run
records its pid and host."""

from __future__ import annotations

import logging
import math
import os
import socket
import sqlite3
import time

from ..config import Config
from ..errors import HarvesterError
from ..store import Store
from ..store.lock import LockHolder
from ..timeutil import parse_iso

log = logging.getLogger("harvester.run")

HEARTBEAT_SECONDS = 30.0
# a lock on another host whose heartbeat is older than this belongs to a process that is gone or hung
STALE_AFTER_SECONDS = 180.0
# a run whose process cannot be looked into counts as running this long after it began: far longer
# than a run takes (minutes), so one still marked running by then most likely lost its process; if it
# goes on all the same, two processes fetch the source at once, which stores no post twice
UNSEEN_RUN_SECONDS = 3600.0
# SIGTERM to exit: systemd and docker wait 10 s before they kill
# the lock connection must not sit behind a stuck writer when we leave
LOCK_BUSY_TIMEOUT_MS = 2000
# a process's start (kernel ticks) and the times it records (the wall clock) are read from two clocks;
# a process cannot begin after it recorded a time, so more than this apart means another process
CLOCK_SLACK_SECONDS = 1.0


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


def boot_time() -> float | None:
    """When this machine started, in seconds since the epoch; None where the system does not say
    (no CLOCK_BOOTTIME and no /proc/stat)."""
    if hasattr(time, "CLOCK_BOOTTIME"):
        return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def this_process() -> tuple[int, str]:
    """This process as the lock and the runs name their owner: its pid and its host."""
    return os.getpid(), socket.gethostname()


def process_started(pid: int) -> float | None:
    """When the process that now has `pid` started, in seconds since the epoch, from Linux's
    /proc/<pid>/stat; math.inf when it has ended (no entry and no pid, or a zombie its parent has not
    collected yet); None where there is no /proc, no boot time, or no entry we may read."""
    booted = boot_time()
    if booted is None or not os.path.exists("/proc/self/stat"):
        return None
    try:
        # bytes: the kernel cuts the name at 15 bytes, which may split a character in two
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        # a pid that still answers is a live process /proc hides from us (mounted with hidepid):
        # its start is unknown, not over; only a pid that no longer answers has ended
        return None if pid_alive(pid) else math.inf
    # the name in parentheses may hold spaces and parentheses; the fields after it do not
    state, *fields = stat[stat.rindex(b")") + 2:].split()
    if state == b"Z":
        return math.inf
    ticks = int(fields[18])   # field 22, starttime: clock ticks from the boot to the process's start
    return booted + ticks / os.sysconf("SC_CLK_TCK")


def process_gone(pid: int, host: str, alive_at: float) -> bool | None:
    """Whether the process `pid` on `host`, alive at `alive_at` (seconds since the epoch), is gone: its
    pid is free or a zombie's, or the process that has it now started after `alive_at` (a reboot, or
    pid reuse, handed the pid to another one). Off Linux only a boot since `alive_at` shows reuse.
    None where that cannot be seen: on another host, or here while its pid is taken and the boot time
    is not known, or no boot came since and /proc hides the process (mounted with hidepid, another
    account's). Such a pid may have gone to another account's process since: "not gone" would keep a
    dead scheduler's lock until the next boot, unknown lets its stopped heartbeat decide (`abandoned`)."""
    if host != socket.gethostname():
        return None
    if not pid_alive(pid):
        return True
    started = process_started(pid)
    if started is not None:
        return started > alive_at + CLOCK_SLACK_SECONDS
    booted = boot_time()
    if booted is None:
        return None
    if alive_at < booted:
        return True   # whatever has the pid now started after the boot
    # with a /proc that did not show the process, it is hidden; without one, the pid is taken as its own
    return None if os.path.exists("/proc/self/stat") else False


def abandoned(holder: LockHolder) -> bool:
    """Whether the lock's owner is gone: on this host its process died or the pid now belongs to a
    process started after the heartbeat (after a reboot, say); on another host, whose processes we
    cannot see, its heartbeat stopped. Where that cannot be seen on this host either, a heartbeat
    stopped counts, as on another host. A new scheduler takes such a lock over, and
    `harvester status` no longer calls it running."""
    heartbeat = parse_iso(holder.heartbeat_at).timestamp()
    gone = process_gone(holder.pid, holder.host, heartbeat)
    return time.time() - heartbeat > STALE_AFTER_SECONDS if gone is None else gone


def scheduler_state(store: Store) -> tuple[LockHolder | None, bool]:
    """The scheduler lock's holder and whether it lives (`not abandoned`), as `run_abandoned` takes
    them: `harvester status` and a source's next run both ask here, so what status says of a run
    is what that next run will do with it."""
    holder = store.scheduler_lock.holder()
    return holder, holder is not None and not abandoned(holder)


def run_abandoned(pid: int | None, host: str | None, started_at: str, scheduler: LockHolder | None,
                  scheduler_lives: bool) -> bool:
    """Whether a run still marked running lost its process: `harvester status` then calls it
    interrupted, and the source's next run closes it (harvester.jobs.harvest); while it lives, that
    next run skips the source, which is collected again at its next interval. `scheduler` and
    `scheduler_lives` are `scheduler_state`'s, asked once by the caller for all its sources.

    Any run lives while its process does (and that process is the one that began it), so a
    `harvester collect` by hand reads as running until it ends or dies. A run of the scheduler that
    holds the lock also ends with that lock, whose heartbeat tells on another host too. Any other run
    whose process cannot be seen (on another host, hidden by /proc here, or recorded before runs named
    their process while a scheduler lives) counts as running for UNSEEN_RUN_SECONDS after it began:
    without that bound a run whose process died there would keep its source from being collected."""
    began = parse_iso(started_at).timestamp()
    if pid is None or host is None:
        gone = None if scheduler_lives else True
    elif scheduler is not None and (scheduler.pid, scheduler.host) == (pid, host):
        if not scheduler_lives:
            return True
        return bool(process_gone(pid, host, began))   # where its pid tells nothing, its heartbeat says it lives
    else:
        gone = process_gone(pid, host, began)
    return time.time() - began > UNSEEN_RUN_SECONDS if gone is None else gone


class DatabaseLock:
    """This process's claim on the scheduler_lock row, on its own connection (the main thread's)."""

    def __init__(self, config: Config):
        self.pid, self.host = this_process()
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

