"""An edit that a harvest has written but not yet committed, for the passes that read posts while
harvests run (classification, related terms, initiatives): a harvest stamps each post of a page
as it writes it and commits the page at the end."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harvester.models import Post
from harvester.store import Store

WAIT_S = 30


@contextmanager
def uncommitted_edit(path: Path, source: str, post: Post) -> Iterator[Callable[[], None]]:
    """`post` written in another connection's open transaction (stamped now) when the block starts;
    the block calls the function it gets once the pass has read the old text, and the edit commits."""
    written, go, failed = threading.Event(), threading.Event(), []

    def harvest() -> None:
        try:
            with Store(path) as store, store.atomic():
                assert store.posts.upsert(post, store.sources.get(source).id) == "updated"
                written.set()
                assert go.wait(WAIT_S), "the pass never read the post"
        except BaseException as e:   # noqa: BLE001 - handed to the test's thread
            failed.append(e)
            written.set()

    thread = threading.Thread(target=harvest)
    thread.start()

    def commit() -> None:
        go.set()
        thread.join(WAIT_S)
        assert not thread.is_alive(), "the edit did not commit"

    try:
        assert written.wait(WAIT_S), "the edit was never written"
        if failed:
            raise failed[0]
        yield commit
    finally:
        go.set()
        thread.join(WAIT_S)
    if failed:
        raise failed[0]
