"""The harvest loop: run a source's collector and store each Batch it yields in one transaction.

It knows the collector contract (harvester.collectors.base) and the store, and nothing about
feeds, Mastodon or Bluesky: a new source type is one entry in COLLECTORS. `harvester collect`, `harvester
up` and the scheduler all go through `run_source`, so every run leaves the same record.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from ..collectors import bluesky, feed, mastodon
from ..collectors.base import Batch, Collector, SourceState
from ..collectors.http import Fetcher, FetchError
from ..config import Config, Source
from ..dutch import counted, database_error
from ..errors import HarvesterError, error_text
from ..models import RunCounts, RunResult, SourceRow
from ..privacy.forget import optout
from ..privacy.hashing import SecretMissing
from ..privacy.keep import KeepCheck
from ..store import Store
from ..store.runs import RunOwner
from .lock import run_abandoned, scheduler_state, this_process
from .logfmt import logfmt, seconds

logger = logging.getLogger(__name__)


class RunNotStarted(HarvesterError):
    """A source's run that failed before its row in `runs` existed (the database refused to bring
    the source in step or to start the run, locked too long, say): the run cannot record it
    itself, so the caller does, on a connection of its own (`record_failure`)."""


# source type -> collector; register a new collector with one line here
COLLECTORS: dict[str, Collector] = {
    "feed": feed.collect,
    "mastodon": mastodon.collect,
    "bluesky": bluesky.collect,
}


def run_sources(
    store: Store, config: Config, sources: Iterable[Source], fetcher: Fetcher | None = None
) -> Iterator[RunResult]:
    """Run each source in turn, yielding its result as soon as it is stored; a failure stops nothing.
    When a source forgot authors who opted out, the initiatives' counts are made anew without them and
    the file is compacted, once each, after the last source."""
    own_fetcher = fetcher is None
    try:
        fetcher = fetcher or Fetcher(config.harvest)
    except FetchError as e:   # no source can be fetched, and each one's failure is recorded
        yield from (record_failure(store, source, str(e)) for source in sources)
        return
    forgot = False
    try:
        for source in sources:
            result = run_source(store, config, source, fetcher)
            forgot = forgot or bool(result.forgot_authors)
            yield result
    finally:
        if own_fetcher:
            fetcher.close()
        if forgot:   # also when stopped early: what was forgotten must not stay in the counts or the free pages
            _recount(store, config)
            store.privacy.compact()


def _recount(store: Store, config: Config) -> None:
    """The initiatives' counts without the authors the runs forgot. A database that refuses is no
    reason to skip the compaction: the summary stays marked stale for the next matching pass (the
    background job, `harvester initiatives`)."""
    from ..initiatives.step import recount   # here: networkx, which start-up does not load

    problem = recount(store, config.initiatives.min_authors)
    if problem:
        logger.warning(problem)


def run_source(
    store: Store, config: Config, source: Source, fetcher: Fetcher, should_stop: Callable[[], bool] | None = None
) -> RunResult:
    """One run of one source, recorded in `runs` from start to finish (or left 'running' by a crash).

    It neither compacts the file after forgetting an author who opted out nor makes the initiatives'
    counts anew without them: the caller does both (`forgot_authors`), also after a run that failed
    on a later page, and a failed recount is then no failure of the source's run (its back-off).
    The scheduler recounts in its matching pass, `run_sources` once after the last source.

    `should_stop` (the scheduler's stop flag) is asked between batches: a stopping process ends the
    run there, with everything stored so far and the run 'partial', instead of mid-transaction.
    """
    started = time.monotonic()
    try:
        row, skipped = _sync(store, source)
        if skipped:
            return skipped
        run_id = _begin(store, source, row)
        if isinstance(run_id, RunResult):
            return run_id
    except sqlite3.Error as e:   # a bug is no failed run: it goes up with its traceback
        raise RunNotStarted(f"de run kon niet beginnen: {database_error(e)}") from e
    counts = RunCounts()
    requests_before = fetcher.requests
    problems: list[str] = []
    error = None
    stored_any = not_modified = gone = removed = False
    # from here on the run closes its own row, whatever goes wrong: the caller records nothing more
    try:
        secret = KeepCheck.load(store, config.privacy.secret_env).secret   # fail before the first request
        for batch in COLLECTORS[source.type](source, _state(store, row), fetcher, config):
            stored_any = _apply(store, row.id, run_id, batch, counts, config) or stored_any
            problems += batch.problems
            for acct in batch.opted_out:
                removed = _honour_optout(store, config, secret, acct, problems) or removed
            not_modified = not_modified or batch.not_modified
            gone = gone or batch.gone
            if should_stop is not None and should_stop():
                problems.append("onderbroken: het programma stopte; de volgende run gaat verder")
                break
    except FetchError as e:
        error = str(e)
    except SecretMissing as e:   # authors are suppressed or forgotten, and there is no key
        error = _without_key(e)
    except Exception as e:  # a bug in a collector or a refusing database must not take the other sources down
        logger.exception("collector for %s failed", source.name)
        error = error_text(e)
    except BaseException:  # Ctrl-C or a stop signal: close the run honestly, then stop
        counts.requests = fetcher.requests - requests_before
        store.runs.finish(run_id, "failed", counts, "onderbroken: het programma werd gestopt tijdens deze run")
        raise
    counts.requests = fetcher.requests - requests_before
    if error:
        # batches stored before the failure stay stored (and their cursor with them)
        status = "partial" if stored_any else "failed"
        message = "; ".join([error, *problems])
    else:
        status = "failed" if gone else "partial" if problems else "not_modified" if not_modified else "ok"
        message = "; ".join(problems) or None
    store.runs.finish(run_id, status, counts, message)
    return RunResult(source.name, status, counts, message, time.monotonic() - started, run_id, forgot_authors=removed)


def record_failure(store: Store, source: Source, error: str) -> RunResult:
    """A run of `source` that could not begin, because no Fetcher could be set up or its row could
    not be written (RunNotStarted), is recorded as a failed run all the same: otherwise it leaves no
    trace in `harvester status`, and the back-off would not count it. It begins as any new run does
    (`_begin`): while another process's run of the source goes on, this one would not have run, and
    nothing is recorded. Only for a failure before the run's row: once that exists, `run_source`
    records its own."""
    row, skipped = _sync(store, source)
    if skipped:   # a source that would not have run has not failed
        return skipped
    run_id = _begin(store, source, row)
    if isinstance(run_id, RunResult):
        return run_id
    store.runs.finish(run_id, "failed", RunCounts(), error)
    return RunResult(source.name, "failed", RunCounts(), error, 0.0, run_id)


def _sync(store: Store, source: Source) -> tuple[SourceRow, RunResult | None]:
    """The source's row, brought in step with the config, and the result of a source that is skipped
    (disabled, gone, no collector), which leaves no run."""
    row = store.sources.sync(source.name, source.type, source.location)
    reason = _skip_reason(source, row)
    return row, RunResult(source.name, "skipped", RunCounts(), reason, 0.0) if reason else None


def _begin(store: Store, source: Source, row: SourceRow) -> int | RunResult:
    """The new run's id; or, while a run of this source by another process goes on (the scheduler's
    while `harvester collect` is run by hand, say), the source skipped: two processes fetching it at
    once would do the work twice, and marking the live run interrupted would count a failure toward
    the back-off that never happened. Runs of the source whose process is gone, by the test
    `harvester status` uses (`run_abandoned`), are closed as interrupted first. A run of this very
    process is such a one: a process runs a source one run at a time (the scheduler one job per
    source, `collect` in turn), so its own row still marked running is one whose end was never
    written. One transaction, so two processes starting the source at once cannot both begin."""
    me = this_process()
    with store.atomic():
        scheduler, scheduler_lives = scheduler_state(store)
        running = store.runs.running(row.id)
        for run in running:
            if (run.pid, run.host) != me and not run_abandoned(run.pid, run.host, run.started_at, scheduler,
                                                               scheduler_lives):
                return RunResult(source.name, "skipped", RunCounts(), _busy(run), 0.0)
        store.runs.interrupt(run.id for run in running)
        return store.runs.start(row.id, *me)


def _busy(run: RunOwner) -> str:
    by = f"proces {run.pid} op {run.host}" if run.pid is not None else "een ander proces"
    return f"wordt al opgehaald door {by} (run begonnen {run.started_at}); niet tegelijk nog eens"


def _skip_reason(source: Source, row: SourceRow) -> str | None:
    if not source.enabled:
        return "uitgeschakeld in de configuratie (enabled = false)"
    if row.gone_at:
        return (f"de bron gaf HTTP 410 Gone op {row.gone_at}; "
                "zet een nieuwe URL in de configuratie om het opnieuw te proberen")
    if source.type not in COLLECTORS:
        return f"nog geen collector voor het brontype {source.type!r}"
    return None


def _state(store: Store, row: SourceRow) -> SourceState:
    return SourceState(row=row, cursors=store.cursors.load(row.id))


def _apply(store: Store, source_id: int, run_id: int, batch: Batch, counts: RunCounts, config: Config) -> bool:
    """Store one Batch with every state change it carries, and the run's counts with it (`run_id`), in
    one transaction; True if it had posts to store.

    What may be stored is decided here, for every collector alike, by the one privacy check
    (harvester.privacy.keep), read inside the transaction: an author forgotten or a post deleted
    while this run goes on is not stored again by its next batch.
    """
    totals = replace(counts)   # the run's counts with this batch's
    with store.atomic():
        posts = KeepCheck.load(store, config.privacy.secret_env).filter(batch.posts, batch.opted_out)
        for post in posts:
            totals.add(store.posts.upsert(post, source_id))
        totals.skipped += batch.skipped + len(batch.posts) - len(posts)
        store.runs.count(run_id, totals)
        if batch.validators is not None:
            store.sources.set_cache_validators(source_id, *batch.validators)
        if batch.moved_to:
            store.sources.set_url(source_id, batch.moved_to)
        if batch.gone:
            store.sources.mark_gone(source_id)
        if batch.auth_required is not None:
            store.sources.set_auth_required(source_id, batch.auth_required)
        if batch.ratelimit is not None:
            store.sources.set_ratelimit(source_id, *batch.ratelimit)
        if batch.cursor is not None:
            store.cursors.save(source_id, batch.cursor)
    # counted only once committed, so the run record never claims what a rollback undid
    counts.new, counts.updated, counts.unchanged, counts.skipped = (
        totals.new, totals.updated, totals.unchanged, totals.skipped)
    return bool(posts)


def _without_key(error: SecretMissing) -> str:
    # without the key a forgotten author's posts cannot be recognised: store nothing rather than them
    return f"er zijn vergeten of afgemelde auteurs, maar hun posts zijn zonder sleutel niet te herkennen: {error}"


def _honour_optout(store: Store, config: Config, secret: bytes | None, acct: str, problems: list[str]) -> bool:
    """An account that opted out after we stored its posts: forget them; True if anything was removed."""
    counts = optout(store, secret, acct)
    if counts is None:
        return False
    if secret is None:
        problems.append(
            f"{counted(counts.posts, 'post', 'posts')} van een afgemelde auteur verwijderd, maar zonder suppressie: zet de "
            f"omgevingsvariabele {config.privacy.secret_env} (minstens 16 tekens) zodat de auteur ook "
            "herkend wordt als de afmelding verdwijnt")
    return True


def log_line(result: RunResult) -> str:
    """One structured line per source run (key=value), for stderr and the scheduler's log."""
    c = result.counts
    return logfmt(source=result.source, status=result.status, new=c.new, updated=c.updated, unchanged=c.unchanged,
                  skipped=c.skipped, requests=c.requests, duration=seconds(result.duration), error=result.error or None)
