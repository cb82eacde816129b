"""What the scheduler needs from the harvest loop: a stop flag asked between batches."""

from __future__ import annotations

from harvester.jobs import harvest
from harvester.collectors.base import Batch
from harvester.collectors.http import Fetcher
from harvester.config import FeedSource, load_config
from harvester.models import Post


def post(n: int) -> Post:
    return Post(key=f"https://example.org/{n}", kind="feed", content_html=f"<p>idee {n}</p>", text=f"idee {n}",
                tags=("innoverheid",))


def test_a_stop_between_batches_keeps_what_was_stored_and_ends_the_run_as_partial(store, write_config, monkeypatch):
    config = load_config(write_config())
    source = FeedSource(name="pages", url="https://example.org/feed")
    stop = []
    fetched = []

    def three_pages(source, state, fetcher, config):
        for page in range(3):
            fetched.append(page)
            stop.append(True)   # the signal arrives while the first page is fetched and stored
            yield Batch(posts=[post(page * 10 + i) for i in range(2)])

    monkeypatch.setitem(harvest.COLLECTORS, "feed", three_pages)
    with Fetcher(config.harvest) as fetcher:
        result = harvest.run_source(store, config, source, fetcher, should_stop=lambda: bool(stop))
    assert fetched == [0]                       # the next page was never asked for
    assert result.status == "partial" and result.counts.new == 2
    assert "onderbroken" in result.error
    assert store.posts.count() == 2
    assert store.db.execute("SELECT status, new FROM runs").fetchall() == [("partial", 2)]


def test_without_a_stop_every_batch_is_stored(store, write_config, monkeypatch):
    config = load_config(write_config())

    def three_pages(source, state, fetcher, config):
        for page in range(3):
            yield Batch(posts=[post(page)])

    monkeypatch.setitem(harvest.COLLECTORS, "feed", three_pages)
    with Fetcher(config.harvest) as fetcher:
        result = harvest.run_source(store, config, FeedSource(name="pages", url="https://example.org/feed"),
                                    fetcher, should_stop=lambda: False)
    assert (result.status, result.counts.new, store.posts.count()) == ("ok", 3, 3)
