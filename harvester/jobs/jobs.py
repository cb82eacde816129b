"""The work the scheduler calls: collect a source, classify, retrain, recheck, purge.

Every run opens its own Store and Fetcher and closes them (SQLite connections belong to one
thread; nothing accumulates), and one job's trouble never reaches the others: each catches what
goes wrong and logs it as its one line.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection

from .. import learning
from ..privacy import retention
from .classify import classify_pending
from ..nlp import load_themes
from ..nlp.related import TermExtractor
from ..related import index_pending
from ..collectors.http import Fetcher, FetchError
from ..config import Config, Source
from ..errors import HarvesterError, error_text
from ..store import Store
from ..timeutil import parse_iso, to_utc_iso
from ..tomlfile import file_state
from . import harvest
from .backoff import backoff_until
from .gate import OneAtATime, Running, WriteGate
from .logfmt import logfmt, seconds
from .mastodon_recheck import RecheckResult, recheck as run_recheck
from .model import ModelLoader

log = logging.getLogger("harvester.run")


class JobFailed(HarvesterError):
    """A job run ended in an exception (already logged)."""


class TrainingFailed(HarvesterError):
    """The training process ended without a trained model: its error, or how it stopped."""


def _train_in_child(job: learning.TrainingJob, results: Connection) -> None:
    """The training process: the outcome, or the text of what went wrong (an exception need not
    survive pickling), through `results`."""
    try:
        reply: tuple[bool, object] = (True, learning.train_candidate(job))
    except Exception as e:
        reply = (False, error_text(e))
    results.send(reply)


def retried(new_themes: bool) -> str:
    """When the job tries a failed retraining again (Dutch), as `learning.decisions_to_learn` and, for
    a model that lacks a configured theme, `learning.themes_to_learn` decide."""
    if new_themes:
        first, longest = (wait.total_seconds() / 3600
                          for wait in (learning.RETRY_NEW_THEMES, learning.RETRY_NEW_THEMES_LONGEST))
        return (f"opnieuw zodra het themabestand of de trainingsteksten zijn bewaard, anders {first:g} uur na deze "
                f"fout (na elke volgende fout op rij twee keer zo lang, tot {longest:g} uur), of nu met "
                "`harvester retrain`")
    return "opnieuw na [nlp] retrain_after nieuwe beslissingen, of nu met `harvester retrain`"


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
        self._classifying = OneAtATime()
        self.gate = WriteGate()
        self._matching = OneAtATime()
        # one training at a time, in a process of its own; `_trainer` is its thread in this one
        self._learn_lock = threading.Lock()
        self._trainer: threading.Thread | None = None
        self._trained = True   # whether the latest training ended well (or is still running)
        self._terms: TermExtractor | None = None   # the related-idea terms, loaded at first use
        self._terms_file: tuple[int, int] | None = None   # the themes file as `_terms` last read it

    @contextmanager
    def _run(self, *, read_at: str | None = None, retry: Callable[[], str] | None = None,
             **job: str) -> Iterator[Store]:
        """A job run: counted for the stop bound, with its own Store; an exception becomes a log line,
        and for a job that is not per source (`job=`) its outcome in `harvester status` too (`_failed`,
        with `read_at`), its error followed by `retry()` when given: when the job tries again, as it
        stands when the run failed. A source's run records its own failure in `runs`, and `collect`
        one before the run's row."""
        started = time.monotonic()
        with self.running.one():
            try:
                with Store(self.config.db_path) as store:
                    yield store
            except Exception as e:
                error = error_text(e)
                log.error(logfmt(**job, status="failed", duration=seconds(time.monotonic() - started), error=error))
                if "job" in job:
                    self._failed(job["job"], f"{error}; {retry()}" if retry else error, read_at=read_at)
                raise JobFailed from e

    def _failed(self, job: str, error: str, *, read_at: str | None = None) -> None:
        """Record a failed pass on a Store of its own: the job's may be what broke. When the database
        itself refuses (locked too long, read-only), the log line above is all that is left. `read_at`:
        a retraining's, when it read its input."""
        self._record_apart(job, lambda store: store.job_outcomes.record(job, "failed", error, read_at=read_at))

    def _record_apart(self, name: str, record: Callable[[Store], object]) -> None:
        """Write a failure on a Store of its own (see `_failed`); if that fails too, say so in the log."""
        try:
            with Store(self.config.db_path) as store:
                record(store)
        except Exception as e:
            log.warning("uitkomst van %s niet vastgelegd in de database: %s", name, e)

    def _fetcher(self) -> Fetcher:
        # pauses between retries end at once when we are asked to stop
        return Fetcher(self.config.harvest, sleep=self.stop.wait)

    def collect(self, source: Source, *, respect_backoff: bool = True) -> bool:
        """One run of one source, then classification of what it stored. False if the run failed."""
        if self.stop.is_set():
            return True
        try:
            with self.gate.shared(), self._run(source=source.name) as store:
                if self.stop.is_set():   # asked to stop while the compaction ran
                    return True
                if respect_backoff:
                    until = backoff_until(store, source, self.config.schedule, datetime.now(UTC))
                    if until is not None:
                        log.debug(logfmt(source=source.name, status="backoff", until=to_utc_iso(until)))
                        return True
                try:
                    fetcher = self._fetcher()
                except FetchError as e:   # before the run's row: run_source records every later failure
                    result = harvest.record_failure(store, source, str(e))
                else:
                    with fetcher:
                        result = harvest.run_source(store, self.config, source, fetcher, should_stop=self.stop.is_set)
                log.info(harvest.log_line(result))
        except JobFailed as e:
            if isinstance(e.__cause__, harvest.RunNotStarted):   # the run left no row to say it failed
                with self.gate.shared():   # a write as any other: not while the purge has the file to itself
                    self._record_apart(source.name,
                                       lambda store: harvest.record_failure(store, source, str(e.__cause__)))
            return False
        if result.forgot_authors and self._compact() is not None:   # first: the forgotten text out of the file
            return False
        stored = bool(result.counts.new or result.counts.updated)
        if stored:
            self.classify()
        # also after a run that forgot authors who opted out and then failed: the pass makes the counts
        # anew without them, once with the new posts
        if stored or result.forgot_authors:
            self.match()
        self.learn()
        return not result.failed

    def match(self) -> bool:
        """Link new and edited posts to their initiatives (every post when the list of initiatives or
        an editor's decision changed it) and renew the counts; False if that failed. Never waits for
        another job: a matching already running is asked to look again when it is done."""
        return self._matching.run(self._match_pending, self.stop)

    def _match_pending(self) -> bool:
        from ..initiatives import step   # networkx: loaded when the job first runs

        try:
            with self.gate.shared(), self._run(job="initiatives") as store:
                started = time.monotonic()
                result = step.update(store, self.config)
                store.job_outcomes.record("initiatives", "ok")
                if result.matched or result.summarised:
                    log.info(logfmt(job="initiatives", status="ok", matched=result.matched,
                                    rematched="yes" if result.rematched else "no",
                                    duration=seconds(time.monotonic() - started)))
                return True
        except JobFailed:
            return False

    def classify(self) -> bool:
        """Classify whatever is pending; False if that failed (the posts stay pending).

        Never waits for another job: if a classification is running, it is asked to look again
        when it is done, and this call returns at once.
        """
        return self._classifying.run(self._classify_pending, self.stop)

    def _classify_pending(self) -> bool:
        try:
            with self.gate.shared(), self._run(job="classify") as store:
                self._index_related(store)
                if store.classifications.count_pending():
                    self._classify_with_model(store)
                store.job_outcomes.record("classify", "ok")
                return True
        except JobFailed:
            return False

    def _classify_with_model(self, store: Store) -> None:
        """Apart from `_classify_pending`, so that every way through it ends in the job's recorded outcome."""
        classifier = self.model.get(self.stop, store)
        if classifier is None:   # asked to stop while the model loaded
            return
        started = time.monotonic()
        # in-process: forking a worker pool from a threaded scheduler is not safe. The
        # memory zone frees the strings spaCy learnt from these texts (new numbers, names,
        # URLs); without it the vocabulary of a process running for weeks only grows.
        with classifier.nlp.memory_zone():
            done = classify_pending(store, classifier, workers=1)
        if done:
            log.info(logfmt(job="classify", status="ok", classified=done,
                            duration=seconds(time.monotonic() - started)))

    def _index_related(self, store: Store) -> None:
        """The related-idea terms of new and changed posts (harvester.related), in the classify job's turn.

        In the themes file's language, as `harvester classify` indexes them: the same posts get the
        same terms whichever of the two indexed them. The file is read again when it changed (its
        `file_state`, as the classifier's), so an edited language holds from the next turn on
        without a restart."""
        state = file_state(self.config.nlp.themes)
        if self._terms is None or state != self._terms_file:
            language = load_themes(self.config.nlp.themes).language
            if self._terms is None or self._terms.nlp.lang != language:
                self._terms = TermExtractor(language)
            self._terms_file = state
        with self._terms.nlp.memory_zone():   # as the classifier's: the vocabulary must not grow for weeks
            done = index_pending(store, self._terms)
        if done:
            log.info(logfmt(job="related", status="ok", indexed=done))

    def learn(self, *, wait: bool = False) -> bool:
        """Start a retraining when `[nlp] retrain_after` decisions came in since the last one (or since
        the last failed one: `learning.decisions_to_learn`), or at once when the model in use does not
        know a theme of the themes file (one added or renamed: `learning.themes_to_learn`), and have
        the posts classified anew when the active model was switched (`harvester models use`).

        The retraining's outcome in `harvester status` is that of a training (or of the check before
        it, when that failed): a pass that found too few decisions trained nothing and says nothing.

        Never waits for the training (`wait`: run --once does, and returns False when it failed):
        it runs in a process of its own, and this process holds neither the write gate nor a
        transaction meanwhile; it only reads at the start and records the outcome at the end (`_train`).
        """
        if self.stop.is_set():
            return True
        job = None
        switched = False
        training = True   # another pass is looking: wait for the training it may start
        new_themes: list[str] = []
        if self._learn_lock.acquire(blocking=False):
            try:
                with self.gate.shared(), self._run(job="retrain", retry=lambda: retried(bool(new_themes))) as store:
                    switched = self.model.outdated(store)
                    training = self._trainer is not None and self._trainer.is_alive()
                    since = learning.decisions_to_learn(store)
                    new_themes = [] if training else learning.themes_to_learn(store, self.config)
                    if not training and (since >= self.config.nlp.retrain_after or new_themes):
                        job = learning.prepare(store, self.config)
                if job is not None:
                    log.info(logfmt(job="retrain", status="started", decisions=since, learned=len(job.learn),
                                    held_back=len(job.held), current=job.current_version,
                                    new_themes=",".join(new_themes) or None,
                                    unknown_themes=",".join(sorted(job.dropped.themes)) or None,
                                    skipped=job.dropped.skipped or None))
                    self._trained = training = True
                    self._trainer = threading.Thread(target=self._train, args=(job, bool(new_themes)),
                                                     name="retrain", daemon=True)
                    self._trainer.start()
            except JobFailed:
                return False
            finally:
                self._learn_lock.release()
        if switched:
            self.classify()
        trainer = self._trainer
        if not wait or trainer is None or not training:   # `_trained` is then an earlier training's
            return True
        while trainer.is_alive() and not self.stop.is_set():
            trainer.join(0.2)
        return self._trained

    def _train(self, job: learning.TrainingJob, new_themes: bool) -> None:
        """Train in another process and record the outcome; `_trained` says whether that went well.
        A failure is recorded with the moment the training read its input (`job.read_at`), which is
        what `learning.themes_to_learn` and `learning.decisions_to_learn` count edits from; its text says
        when the job tries again (`new_themes`: the model in use lacks a configured theme)."""
        started = time.monotonic()
        row = None
        try:
            outcome = self._train_elsewhere(job)
            if outcome is None:
                learning.discard(job.output)
                log.info(logfmt(job="retrain", status="stopped", candidate=job.version,
                                duration=seconds(time.monotonic() - started)))
                return
            with self.gate.shared(), self._run(job="retrain", read_at=job.read_at,
                                               retry=lambda: retried(new_themes)) as store:
                row = learning.register(store, self.config, job, outcome)
                store.job_outcomes.record("retrain", "ok")
            log.info(logfmt(job="retrain", status="switched" if row.active else "kept", candidate=row.version,
                            current=job.current_version, candidate_score=row.score, current_score=row.current_score,
                            refitted=len(outcome.refitted), term_weight=outcome.term_weight,
                            duration=seconds(time.monotonic() - started), reason=row.reason))
            if row.active:
                self.classify()   # the posts without a decision, by the new model
        except JobFailed:
            self._trained = False
            if row is None:   # not registered: no version row would ever list or remove the saved model
                learning.discard(job.output)
        except Exception as e:
            self._trained = False
            learning.discard(job.output)
            error = error_text(e)
            log.error(logfmt(job="retrain", status="failed", candidate=job.version,
                             duration=seconds(time.monotonic() - started), error=error))
            with self.gate.shared():
                self._failed("retrain", f"training van {job.version} mislukt: {error}; {retried(new_themes)}",
                             read_at=job.read_at)

    def _train_elsewhere(self, job: learning.TrainingJob) -> learning.Outcome | None:
        """learning.train_candidate in a spawned process (forking a threaded process is unsafe);
        None when asked to stop first (the process is ended).

        One process and a pipe rather than a pool: a pool whose worker is killed (the kernel's OOM
        killer, an admin) starts another and never answers, so the job would wait forever. Here the
        pipe's end tells at once that the process is gone, and TrainingFailed says how it ended.
        """
        context = multiprocessing.get_context("spawn")
        results, child_end = context.Pipe(duplex=False)
        process = context.Process(target=_train_in_child, args=(job, child_end), name="retrain", daemon=True)
        process.start()
        child_end.close()   # the child holds the only writing end: its exit ends the pipe
        try:
            while not results.poll(0.2):
                if self.stop.is_set():
                    return None
            try:
                trained, value = results.recv()
            except EOFError:
                process.join()
                raise TrainingFailed(f"het trainingsproces stopte onverwacht (exitcode {process.exitcode}), "
                                     "bijvoorbeeld door te weinig geheugen") from None
            if not trained:
                raise TrainingFailed(str(value))
            return value
        finally:
            if process.is_alive():
                process.terminate()
            process.join()
            results.close()

    def recheck(self) -> bool:
        """Ask the Mastodon instances whether recent posts still exist; False if one could not be asked,
        or the pass or the compaction after it failed."""
        if self.stop.is_set():
            return True
        try:
            result, not_compacted = self.recheck_pass()
        except JobFailed:
            return False
        return not_compacted is None and not result.problems

    def recheck_pass(self) -> tuple[RecheckResult, str | None]:
        """One recheck and the compaction it calls for, each with its outcome in `harvester status`; the
        result, and why the file was not compacted when it had to be (`_compact`; None when it was, or
        had not to be). The job's and `harvester recheck`'s, so a
        pass by hand (cron, after a failed run of the job) replaces the job's last word as the job's own
        next pass would. JobFailed (recorded as the recheck's failure, its reason the cause) when the
        pass stopped: no connections to be made, a database that refused."""
        with self.gate.shared(), self._run(job="recheck") as store, self._fetcher() as fetcher:
            started = time.monotonic()
            result = run_recheck(store, self.config, fetcher)
            status, error = result.outcome
            store.job_outcomes.record("recheck", status, error)
            log.info(logfmt(job="recheck", status=status, checked=result.checked,
                            deleted=result.deleted, duration=seconds(time.monotonic() - started), error=error))
        return result, self._compact() if result.removed else None

    def _compact(self) -> str | None:
        """Rewrite the file after a recheck or an opt-out removed posts, so their text is gone from it;
        None when done, else why not (Dutch, as recorded), for `harvester recheck` to say.

        VACUUM holds the write lock as long as the purge's does, so it waits at the gate as the purge
        does: outside it, a collection writing meanwhile would fail on a locked database (and one
        that fails before its run row is written leaves no trace in `harvester status`).
        """
        try:
            with self.gate.exclusive(), self._run(job="compact") as store:
                started = time.monotonic()
                store.privacy.compact()
                store.job_outcomes.record("compact", "ok")
                log.info(logfmt(job="compact", status="ok", duration=seconds(time.monotonic() - started)))
                return None
        except JobFailed as e:
            return error_text(e.__cause__)

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
            with self._run(job="purge") as store:
                if when_due and (last := store.privacy.last_purge()):
                    due_at = parse_iso(last["at"]) + timedelta(hours=self.config.schedule.purge_hours)
                    if due_at > datetime.now(UTC):
                        log.info(logfmt(job="purge", status="skipped", last=last["at"], next=to_utc_iso(due_at)))
                        return True
                with self.gate.exclusive():
                    started = time.monotonic()
                    result = retention.purge(store, self.config)
                status, error = ("partial" if result.problems else "ok"), "; ".join(result.problems) or None
                store.job_outcomes.record("purge", status, error)
                line = logfmt(job="purge", status=status, deleted=len(result.deleted),
                              pseudonymized=len(result.pseudonymized.posts),
                              compacted="yes" if result.compacted else "no",
                              duration=seconds(time.monotonic() - started), error=error)
                (log.error if result.problems else log.info)(line)
                return not result.problems
        except JobFailed:
            return False

