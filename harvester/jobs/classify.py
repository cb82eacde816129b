"""The classify step: pending posts from the store, through the NLP package, back into the store.

The only place that knows both sides; harvester.nlp stays free of the database. Large runs use a
pool of worker processes that each load the model once and send back only the verdicts (spaCy's
own n_process ships whole Docs back and was slower than one process, see docs/nlp-log.md); the
parent writes each batch in one transaction while the workers go on.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from ..models import Classification
from ..nlp import Classifier, ThemeSet
from ..store import Store
from ..store.posts import PostText

PAGE = 50_000          # posts read from the database at a time
CHUNK = 1_000          # posts per task sent to a worker (and per write transaction)
POOL_FROM = 4_000      # fewer pending posts than this are classified in-process

Progress = Callable[[int, int], None]   # (done, total)

_worker: Classifier | None = None


def _init_worker(spec: tuple[str | Path, ThemeSet] | None) -> None:
    """A forked worker already holds the parent's classifier; a spawned one loads it from disk."""
    global _worker
    if _worker is None or (spec is not None and _worker.spec != spec):
        assert spec is not None, "an in-memory classifier needs the fork start method"
        _worker = Classifier.load(*spec)
    # The model and its caches live as long as the worker: out of the garbage collector's sight,
    # its full collections no longer walk them (they took a tenth of a worker's time). A forked
    # worker inherits them frozen already; this is for a spawned one.
    gc.freeze()


def _classify_chunk(texts: list[str]) -> list[Classification]:
    assert _worker is not None
    return list(_worker.classify(texts))


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def classify_pending(
    store: Store,
    classifier: Classifier,
    include_all: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
) -> int:
    """Classify new and stale posts (every post with include_all); returns how many were classified."""
    total = store.classifications.count_pending(include_all=include_all)
    if total == 0:
        return 0
    workers = default_workers() if workers is None else workers
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    use_pool = workers > 1 and total >= POOL_FROM and (can_fork or classifier.spec is not None)
    done = 0
    pool = None
    try:
        if use_pool:
            global _worker
            _worker = classifier   # inherited by forked workers: no second load
            # What this process holds now (the model, whatever the caller keeps) outlives the run:
            # kept out of the garbage collector's full passes while the verdicts stream in, and
            # out of the forked workers' too.
            gc.freeze()
            context = multiprocessing.get_context("fork" if can_fork else None)
            pool = context.Pool(workers, initializer=_init_worker, initargs=(classifier.spec,))
        for chunk, verdicts in _verdicts(store, classifier, include_all, pool):
            store.classifications.save_many([(row.post_id, verdict) for row, verdict in zip(chunk, verdicts)],
                                            seen={row.post_id: row.changed_at for row in chunk})
            done += len(chunk)
            if progress:
                progress(done, total)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        if use_pool:
            _worker = None
            gc.unfreeze()
    return done


def _verdicts(store: Store, classifier: Classifier, include_all: bool, pool) -> Iterator[tuple[list[PostText], list[Classification]]]:
    """(posts as read, their verdicts) per chunk, in id order."""
    after = 0
    while True:
        rows = store.classifications.pending(include_all=include_all, limit=PAGE, after_id=after)
        if not rows:
            return
        after = rows[-1].post_id
        chunks = [rows[i:i + CHUNK] for i in range(0, len(rows), CHUNK)]
        texts = ([row.text for row in chunk] for chunk in chunks)
        results = pool.imap(_classify_chunk, texts) if pool else (list(classifier.classify(t)) for t in texts)
        yield from zip(chunks, results)
