"""The background job: collect every source on its interval, classify what is new, recheck for
deletions, and apply the retention policy (purge, pseudonymise) every `purge_hours`.

It runs unattended for weeks, so:
- every job run opens its own Store and Fetcher and closes them (SQLite connections belong to one
  thread; nothing accumulates), and one source's trouble never holds the others up;
- a source that keeps failing waits longer each time; the wait is derived from the runs table, so it
  survives restarts and `harvester status` can show it;
- one scheduler per database: the `scheduler_lock` row, refreshed by a heartbeat, taken over when
  its owner died;
- SIGTERM and Ctrl-C stop cleanly: no new jobs start, running collectors stop between batches (a
  batch is one transaction), and the process exits 0 within STOP_SECONDS.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from . import harvest, learning, retention
from .classify import classify_pending
from .collectors.http import Fetcher
from .config import Config, ScheduleConfig, Source
from .errors import HarvesterError
from .nlp import Classifier, ModelError, ThemesError, load_themes
from .recheck import recheck as run_recheck
from .store import Store
from .backoff import backoff_until
from .store.lock import LockHolder
from .timeutil import parse_iso, to_utc_iso

log = logging.getLogger("harvester.run")

HEARTBEAT_SECONDS = 30.0
# a lock whose heartbeat is older than this belongs to a process that is gone or hung
STALE_AFTER_SECONDS = 180.0
# SIGTERM to exit: systemd and docker wait 10 s before they kill
STOP_SECONDS = 8.0
# the lock connection must not sit behind a stuck writer when we leave
LOCK_BUSY_TIMEOUT_MS = 2000
# the first recheck after start, once the first collections are done
RECHECK_FIRST_SECONDS = 600.0
# the first purge after start, after the first recheck (a daily restart must not skip it for ever)
PURGE_FIRST_SECONDS = 1200.0
# how often the job looks whether enough decisions came in to retrain (also after every collection)
LEARN_SECONDS = 300.0


# --- one scheduler per database -------------------------------------------------------------------

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


class DatabaseLock:
    """This process's claim on the scheduler_lock row, on its own connection (the main thread's)."""

    def __init__(self, config: Config):
        self.pid, self.host = os.getpid(), socket.gethostname()
        self.store = Store(config.db_path)
        self.store.db.execute(f"PRAGMA busy_timeout = {LOCK_BUSY_TIMEOUT_MS}")

    def acquire(self) -> None:
        holder = self.store.scheduler_lock.acquire(self.pid, self.host, self._abandoned)
        if holder is not None:
            self.store.close()
            raise AlreadyRunning(holder)

    def _abandoned(self, holder: LockHolder) -> bool:
        if holder.host == self.host and not pid_alive(holder.pid):
            return True
        age = datetime.now(UTC) - parse_iso(holder.heartbeat_at)
        return age.total_seconds() > STALE_AFTER_SECONDS

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


# --- the jobs -------------------------------------------------------------------------------------

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


class Jobs:
    """The work the scheduler calls; every run opens and closes its own Store and Fetcher.

    Each method catches what goes wrong, logs it as its one line and returns False, so a fault in
    one job never reaches the scheduler or the other jobs.
    """

    def __init__(self, config: Config, stop: threading.Event):
        self.config = config
        self.stop = stop
        self.model = ModelLoader(config)
        self.running = Running()
        # one classification at a time: the model is shared, and two jobs must not classify the same
        # posts; `wanted` tells the running one that more posts arrived meanwhile
        self._classify_lock = threading.Lock()
        self._classify_wanted = threading.Event()
        self.gate = WriteGate()
        # one training at a time, in a process of its own; `_trainer` is its thread in this one
        self._learn_lock = threading.Lock()
        self._trainer: threading.Thread | None = None

    @contextmanager
    def _run(self, job: str) -> Iterator[Store]:
        """A job run: counted for the stop bound, with its own Store; an exception becomes a log line."""
        started = time.monotonic()
        with self.running.one():
            try:
                with Store(self.config.db_path) as store:
                    yield store
            except Exception as e:
                error = str(e) if isinstance(e, ModelUnavailable) else f"interne fout: {type(e).__name__}: {e}"
                log.error("%s status=failed duration=%.2fs error=%s", job, time.monotonic() - started,
                          harvest.quote(error))
                raise JobFailed from e

    def _fetcher(self) -> Fetcher:
        # pauses between retries end at once when we are asked to stop
        return Fetcher(self.config.harvest, sleep=self.stop.wait)

    def collect(self, source: Source, *, respect_backoff: bool = True) -> bool:
        """One run of one source, then classification of what it stored. False if the run failed."""
        if self.stop.is_set():
            return True
        try:
            with self.gate.shared(), self._run(f"source={source.name}") as store:
                if self.stop.is_set():   # asked to stop while the compaction ran
                    return True
                if respect_backoff:
                    until = backoff_until(store, source, self.config.schedule, datetime.now(UTC))
                    if until is not None:
                        log.debug("source=%s status=backoff until=%s", source.name, to_utc_iso(until))
                        return True
                with self._fetcher() as fetcher:
                    result = harvest.run_source(store, self.config, source, fetcher, should_stop=self.stop.is_set)
                log.info(harvest.log_line(result))
        except JobFailed:
            return False
        if result.counts.new or result.counts.updated:
            self.classify()
        self.learn()
        return not result.failed

    def classify(self) -> bool:
        """Classify whatever is pending; False if that failed (the posts stay pending).

        Never waits for another job: if a classification is running, it is asked to look again
        when it is done, and this call returns at once.
        """
        self._classify_wanted.set()
        ok = True
        while self._classify_wanted.is_set() and not self.stop.is_set():
            if not self._classify_lock.acquire(blocking=False):
                return ok
            try:
                while self._classify_wanted.is_set() and not self.stop.is_set():
                    self._classify_wanted.clear()
                    ok = self._classify_pending() and ok
            finally:
                self._classify_lock.release()
        return ok

    def _classify_pending(self) -> bool:
        try:
            with self.gate.shared(), self._run("job=classify") as store:
                if not store.classifications.count_pending():
                    return True
                classifier = self.model.get(self.stop, store)
                if classifier is None:
                    return True
                started = time.monotonic()
                # in-process: forking a worker pool from a threaded scheduler is not safe. The
                # memory zone frees the strings spaCy learnt from these texts (new numbers, names,
                # URLs); without it the vocabulary of a process running for weeks only grows.
                with classifier.nlp.memory_zone():
                    done = classify_pending(store, classifier, workers=1)
                if done:
                    log.info("job=classify status=ok classified=%d duration=%.2fs", done, time.monotonic() - started)
                return True
        except JobFailed:
            return False

    def learn(self, *, wait: bool = False) -> bool:
        """Start a retraining when `[nlp] retrain_after` decisions came in since the last one, and have
        the posts classified anew when the active model was switched (`harvester models use`).

        Never waits for the training (`wait`: run --once does): it runs in a process of its own, and
        this process holds neither the write gate nor a transaction meanwhile; it only reads at the
        start and records the outcome at the end (`_train`).
        """
        if self.stop.is_set():
            return True
        job = None
        switched = False
        if self._learn_lock.acquire(blocking=False):
            try:
                with self.gate.shared(), self._run("job=retrain") as store:
                    switched = self.model.outdated(store)
                    training = self._trainer is not None and self._trainer.is_alive()
                    since = learning.decisions_since(store)
                    if not training and since >= self.config.nlp.retrain_after:
                        job = learning.prepare(store, self.config)
                if job is not None:
                    log.info("job=retrain status=started decisions=%d learned=%d held_back=%d current=%s",
                             since, len(job.learn), len(job.held), job.current_version)
                    self._trainer = threading.Thread(target=self._train, args=(job,), name="retrain", daemon=True)
                    self._trainer.start()
            except JobFailed:
                return False
            finally:
                self._learn_lock.release()
        if switched:
            self.classify()
        trainer = self._trainer
        while wait and trainer is not None and trainer.is_alive() and not self.stop.is_set():
            trainer.join(0.2)
        return True

    def _train(self, job: learning.TrainingJob) -> None:
        started = time.monotonic()
        try:
            outcome = self._train_elsewhere(job)
            if outcome is None:
                log.info("job=retrain status=stopped candidate=%s duration=%.2fs", job.version, time.monotonic() - started)
                return
            with self.gate.shared(), self._run("job=retrain") as store:
                row = learning.register(store, self.config, job, outcome)
            log.info("job=retrain status=%s candidate=%s current=%s candidate_f1=%s current_f1=%s refitted=%d "
                     "duration=%.2fs reason=%s", "switched" if row.active else "kept", row.version, job.current_version,
                     row.score, row.current_score, len(outcome.refitted), time.monotonic() - started,
                     harvest.quote(row.reason))
            if row.active:
                self.classify()   # the posts without a decision, by the new model
        except JobFailed:
            pass
        except Exception as e:
            log.error("job=retrain status=failed candidate=%s duration=%.2fs error=%s", job.version,
                      time.monotonic() - started, harvest.quote(f"{type(e).__name__}: {e}"))

    def _train_elsewhere(self, job: learning.TrainingJob) -> learning.Outcome | None:
        """learning.train_candidate in a spawned process (forking a threaded process is unsafe);
        None when asked to stop first (the process is ended)."""
        pool = multiprocessing.get_context("spawn").Pool(1)
        try:
            pending = pool.apply_async(learning.train_candidate, (job,))
            while True:
                try:
                    return pending.get(timeout=0.2)
                except multiprocessing.TimeoutError:
                    if self.stop.is_set():
                        return None
        finally:
            pool.terminate()
            pool.join()

    def recheck(self) -> bool:
        """Ask the Mastodon instances whether recent posts still exist; False if one could not be asked."""
        if self.stop.is_set():
            return True
        try:
            with self.gate.shared(), self._run("job=recheck") as store, self._fetcher() as fetcher:
                started = time.monotonic()
                result = run_recheck(store, self.config, fetcher)
                line = (f"job=recheck status={'partial' if result.problems else 'ok'} checked={result.checked} "
                        f"deleted={result.deleted} duration={time.monotonic() - started:.2f}s")
                if result.problems:
                    line += " error=" + harvest.quote("; ".join(result.problems))
                log.info(line)
                return not result.problems
        except JobFailed:
            return False

    def purge(self, *, when_due: bool = False) -> bool:
        """Apply the retention policy; False if a step failed (a missing secret: pseudonymising).

        `when_due` (run --once): only when the last purge is `purge_hours` ago, so a cron line every
        half hour does not rewrite the file every half hour.

        It holds the write lock for seconds (its transactions, then VACUUM rewriting the file), so
        it runs behind the gate: the other jobs wait for it instead of failing on a locked database.
        """
        if self.stop.is_set():
            return True
        try:
            with self._run("job=purge") as store:
                if when_due and (last := store.privacy.last_purge()):
                    due_at = parse_iso(last["at"]) + timedelta(hours=self.config.schedule.purge_hours)
                    if due_at > datetime.now(UTC):
                        log.info("job=purge status=skipped last=%s next=%s", last["at"], to_utc_iso(due_at))
                        return True
                with self.gate.exclusive():
                    started = time.monotonic()
                    result = retention.purge(store, self.config)
                line = (f"job=purge status={'partial' if result.problems else 'ok'} deleted={len(result.deleted)} "
                        f"pseudonymized={len(result.pseudonymized.posts)} compacted={'yes' if result.compacted else 'no'} "
                        f"duration={time.monotonic() - started:.2f}s")
                if result.problems:
                    line += " error=" + harvest.quote("; ".join(result.problems))
                (log.error if result.problems else log.info)(line)
                return not result.problems
        except JobFailed:
            return False


class JobFailed(HarvesterError):
    """A job run ended in an exception (already logged)."""


class ModelLoader:
    """Loads the classifier in a background thread, so collecting starts without waiting for spaCy.

    The model is the active one (`learning.active_model`); when another becomes active (a
    retraining, or `harvester models use` while the job runs), the next classification loads it.
    A model or themes file that cannot be loaded fails every classification (and says why in its
    log line), while collection goes on; the posts wait as pending until the model is fixed.
    """

    def __init__(self, config: Config):
        self.config = config
        self._started = False
        self._start_lock = threading.Lock()
        self._swap_lock = threading.Lock()
        self._ready = threading.Event()
        self._classifier: Classifier | None = None
        self._path: str | None = None     # the loaded model's directory ('' = shipped)
        self._error: str | None = None

    def start(self) -> None:
        with self._start_lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._first, name="model", daemon=True).start()

    def _first(self) -> None:
        try:
            with Store(self.config.db_path) as store:
                active = learning.active_model(store, self.config)
            self._load(active)
        except Exception as e:
            self._error = f"modelfout: {e}"
        finally:
            self._ready.set()

    def _load(self, active: learning.ActiveModel) -> None:
        try:
            self._classifier = Classifier.load(active.path or None, load_themes(self.config.nlp.themes))
            self._error = None
        except ThemesError as e:
            self._error = f"themafout: {e}"
        except ModelError as e:
            self._error = f"modelfout: {e}"
        self._path = active.path

    def outdated(self, store: Store) -> bool:
        """True when another model than the loaded one is active now."""
        return self._ready.is_set() and learning.active_model(store, self.config).path != self._path

    def get(self, stop: threading.Event, store: Store | None = None) -> Classifier | None:
        """The classifier once loaded (the active one, with `store`); None if we are asked to stop
        first. Raises if it did not load."""
        self.start()
        while not self._ready.wait(0.1):
            if stop.is_set():
                return None
        if store is not None:
            active = learning.active_model(store, self.config)
            with self._swap_lock:
                if active.path != self._path:
                    self._load(active)
                    if not self._error:
                        log.info("job=model status=loaded version=%s", active.version)
        if self._error:
            raise ModelUnavailable(self._error)
        return self._classifier


class ModelUnavailable(HarvesterError):
    pass


# --- the scheduler --------------------------------------------------------------------------------

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
    lock = DatabaseLock(config)
    lock.acquire()
    jobs = Jobs(config, stop)
    jobs.model.start()   # while the first sources are fetched
    scheduler = build_scheduler(config, jobs)
    status = 0
    with stop_on_signals(stop):
        try:
            if beside is not None:
                beside.start()
            scheduler.start()
        except BaseException:
            lock.release()
            raise
        log.info("achtergrondtaak gestart: %d bronnen, database %s", len(enabled_sources(config)), config.db_path)
        if on_started:
            on_started()
        while not stop.wait(HEARTBEAT_SECONDS):
            if not lock.beat():
                log.error("een ander proces heeft de database overgenomen; deze achtergrondtaak stopt")
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
    with stop_on_signals(stop):
        pool = futures.ThreadPoolExecutor(max_workers=len(sources) + 4, thread_name_prefix="once")
        tasks = [pool.submit(jobs.collect, s, respect_backoff=False) for s in sources]
        # collect and its classification first, then the recheck sees what was just stored; the
        # purge last, so its compaction keeps the write lock from no other job of this cycle
        tasks.append(pool.submit(_after, tasks[:], jobs.classify))
        tasks.append(pool.submit(_after, tasks[:], jobs.recheck))
        tasks.append(pool.submit(_after, tasks[:], functools.partial(jobs.learn, wait=True)))
        tasks.append(pool.submit(_after, tasks[:], functools.partial(jobs.purge, when_due=True)))
        while not stop.is_set() and not all(t.done() for t in tasks):
            futures.wait(tasks, timeout=0.2)
        # a classification another task handed over may still be busy: let it finish unless stopped
        while not stop.is_set() and not jobs.running.wait_idle(0.2):
            pass
        pool.shutdown(wait=False, cancel_futures=True)
        ok = all(t.result() for t in tasks if t.done() and not t.cancelled())
        return _finish(jobs, lock, 0 if ok else 1)


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
