"""The scheduler wiring: `serve` (harvester run / up) keeps the jobs going on their intervals until
SIGTERM or Ctrl-C; `run_once` (harvester run --once) runs each once and exits.

SIGTERM and Ctrl-C stop cleanly: no new jobs start, running collectors stop between batches (a
batch is one transaction), and the process exits 0 within STOP_SECONDS.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ..config import Config, ScheduleConfig, Source
from ..dutch import counted
from . import lock as scheduler_lock
from .jobs import Jobs
from .lock import DatabaseLock

log = logging.getLogger("harvester.run")

STOP_SECONDS = 8.0
# the first recheck after start, once the first collections are done
RECHECK_FIRST_SECONDS = 600.0
# the first purge after start, after the first recheck (a daily restart must not skip it for ever)
PURGE_FIRST_SECONDS = 1200.0
# how often the job looks whether enough decisions came in to retrain (also after every collection)
LEARN_SECONDS = 300.0
# how often the initiatives are matched besides after each harvest (cheap when nothing changed)
MATCH_SECONDS = 300


def enabled_sources(config: Config) -> list[Source]:
    return [s for s in config.sources if s.enabled]


def jitter_seconds(source: Source, schedule: ScheduleConfig) -> float:
    """The configured jitter, but never more than a tenth of the interval (tests use 3-second ones)."""
    return min(schedule.jitter_seconds, source.interval_minutes * 6)


def build_scheduler(config: Config, jobs: Jobs) -> BackgroundScheduler:
    sources = enabled_sources(config)
    scheduler = BackgroundScheduler(
        # a thread per job, so a slow source never delays another
        executors={"default": ThreadPoolExecutor(max_workers=len(sources) + 4)},
        job_defaults={"max_instances": 1, "coalesce": True},
        timezone=UTC,
    )
    now = datetime.now(UTC)
    scheduler.add_job(jobs.classify, id="classify", name="classificeer wat nog wacht", next_run_time=now,
                      misfire_grace_time=None)
    # besides after each harvest: an editor's decision on a candidate, or an edited list, shows within minutes
    scheduler.add_job(jobs.match, IntervalTrigger(seconds=MATCH_SECONDS), id="initiatives",
                      name="koppel initiatieven", next_run_time=now, misfire_grace_time=MATCH_SECONDS)
    for source in sources:
        seconds = source.interval_minutes * 60
        scheduler.add_job(
            jobs.collect, IntervalTrigger(seconds=seconds, jitter=jitter_seconds(source, config.schedule) or None),
            args=[source], id=f"collect:{source.name}", name=f"verzamel {source.name}", next_run_time=now,
            # a run more than one interval late is dropped: the next one is due anyway
            misfire_grace_time=max(int(seconds), 1),
        )
    seconds = config.schedule.recheck_hours * 3600
    scheduler.add_job(
        jobs.recheck, IntervalTrigger(seconds=seconds), id="recheck", name="hercontrole",
        misfire_grace_time=max(int(seconds), 1),
        # the first one soon after start: a service restarted daily would otherwise never recheck
        next_run_time=now + timedelta(seconds=min(seconds, RECHECK_FIRST_SECONDS)),
    )
    scheduler.add_job(
        jobs.learn, IntervalTrigger(seconds=LEARN_SECONDS), id="learn", name="leren van beslissingen",
        misfire_grace_time=int(LEARN_SECONDS), next_run_time=now + timedelta(seconds=LEARN_SECONDS),
    )
    seconds = config.schedule.purge_hours * 3600
    scheduler.add_job(
        jobs.purge, IntervalTrigger(seconds=seconds), id="purge", name="opschonen",
        misfire_grace_time=max(int(seconds), 1),
        next_run_time=now + timedelta(seconds=min(seconds, PURGE_FIRST_SECONDS)),
    )
    return scheduler


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT (Ctrl-C) set `stop` instead of killing the process mid-transaction."""
    def handler(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class Service(Protocol):
    """Something that runs beside the scheduler (the review app)."""

    def start(self) -> object: ...
    def stop(self) -> None: ...


def serve(config: Config, *, beside: Service | None = None, on_started: Callable[[], None] | None = None) -> int:
    """`harvester run`/`up`: keep the scheduler (and `beside`) going until SIGTERM/Ctrl-C.

    Returns the exit status; raises AlreadyRunning when another process has the database.
    """
    stop = threading.Event()
    jobs = Jobs(config, stop)
    # built before the lock is taken: a schedule that cannot be built must not leave the lock behind
    scheduler = build_scheduler(config, jobs)
    lock = DatabaseLock(config)
    lock.acquire()
    jobs.model.start()   # while the first sources are fetched
    status = 0
    with stop_on_signals(stop):
        try:
            if beside is not None:
                beside.start()
            scheduler.start()
        except BaseException:
            lock.release()
            raise
        collected = len(enabled_sources(config))
        log.info("achtergrondtaak gestart: %s, database %s", counted(collected, "bron", "bronnen"), config.db_path)
        _warn_if_none_enabled(config, collected)
        if on_started:
            on_started()
        while not stop.wait(scheduler_lock.HEARTBEAT_SECONDS):
            if not lock.beat():
                _taken_over()
                status = 1
                break
        log.info("stoppen: geen nieuwe runs meer, lopende runs ronden af")
        stop.set()
        scheduler.shutdown(wait=False)
        if beside is not None:
            beside.stop()
        status = _finish(jobs, lock, status)
        log.info("achtergrondtaak gestopt")
        return status


def _warn_if_none_enabled(config: Config, enabled: int) -> None:
    """As `harvester init` leaves the config, the job runs but no post will come in: say so, in the
    log of the long-running job and of a cron's `run --once` alike."""
    if not enabled:
        log.warning("er wordt niets opgehaald: geen bron in %s staat aan; zet bij minstens één bron enabled = true",
                    config.path)


def run_once(config: Config) -> int:
    """`harvester run --once`: every enabled source once, classification, the recheck, the purge (when
    due); then exit.

    Returns 0 when every job went well, else 1. Intervals and back-off do not apply: whoever
    calls this (cron) sets the rhythm; only the purge keeps to `purge_hours`, as its compaction
    rewrites the whole file.
    """
    stop = threading.Event()
    lock = DatabaseLock(config)
    lock.acquire()
    jobs = Jobs(config, stop)
    sources = enabled_sources(config)
    _warn_if_none_enabled(config, len(sources))
    with stop_on_signals(stop):
        pool = futures.ThreadPoolExecutor(max_workers=len(sources) + 4, thread_name_prefix="once")
        tasks = [pool.submit(jobs.collect, s, respect_backoff=False) for s in sources]
        # collect and its classification first, then the recheck sees what was just stored; the
        # purge last, so its compaction keeps the write lock from no other job of this cycle
        tasks.append(pool.submit(_after, tasks[:], jobs.classify))
        tasks.append(pool.submit(_after, tasks[:], jobs.match))
        tasks.append(pool.submit(_after, tasks[:], jobs.recheck))
        tasks.append(pool.submit(_after, tasks[:], functools.partial(jobs.learn, wait=True)))
        tasks.append(pool.submit(_after, tasks[:], functools.partial(jobs.purge, when_due=True)))
        kept = _wait_beating(lock, stop, lambda: not futures.wait(tasks, timeout=0.2).not_done)
        # a classification another task handed over may still be busy: let it finish unless stopped
        kept = kept and _wait_beating(lock, stop, lambda: jobs.running.wait_idle(0.2))
        pool.shutdown(wait=False, cancel_futures=True)
        ok = kept and all(t.result() for t in tasks if t.done() and not t.cancelled())
        return _finish(jobs, lock, 0 if ok else 1)


def _wait_beating(lock: DatabaseLock, stop: threading.Event, done: Callable[[], bool]) -> bool:
    """Wait until `done()` (which itself waits a moment) or `stop`, refreshing the heartbeat as `serve`
    does, so a long cron run is not mistaken for an abandoned one. False when another process took
    the lock over; `stop` is then set, so the jobs end."""
    next_beat = time.monotonic() + scheduler_lock.HEARTBEAT_SECONDS
    while not stop.is_set() and not done():
        if time.monotonic() >= next_beat:
            next_beat = time.monotonic() + scheduler_lock.HEARTBEAT_SECONDS
            if not lock.beat():
                _taken_over()
                stop.set()
                return False
    return True


def _taken_over() -> None:
    log.error("een ander proces heeft de database overgenomen; deze achtergrondtaak stopt")


def _after(tasks: list[futures.Future], job: Callable[[], bool]) -> bool:
    futures.wait(tasks)
    return job()


def _finish(jobs: Jobs, lock: DatabaseLock, status: int) -> int:
    """Wait (bounded) for running jobs, give up the lock, and end the process if one still hangs."""
    idle = jobs.running.wait_idle(STOP_SECONDS)
    lock.release()
    if not idle:
        # a request is still hanging: SQLite rolls its open transaction back when the process ends,
        # and the next start marks the unfinished run as interrupted
        log.warning("gestopt terwijl een run nog liep; die run telt als onderbroken")
        logging.shutdown()
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(status)

    return status
