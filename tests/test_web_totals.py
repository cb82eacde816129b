"""The queue's totals on a large filter: counted apart in the background, then shown with their time."""

from __future__ import annotations

import time

from harvester.store import Store
from harvester.store.reviews import QueueFilter
from harvester.web import totals

from .webdata import add_post


def test_a_count_past_the_cap_runs_apart_and_is_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(totals, "CAP", 3)
    with Store(tmp_path / "h.db") as store:
        for n in range(1, 8):
            add_post(store, n)
        counter = totals.Counter(store.path)
        flt = QueueFilter(status="nieuw", sort="confidence")
        first = counter.count(store, flt)
        assert first.totals is None and first.more_than == 3      # not counted yet: at least the cap
        deadline = time.monotonic() + 10
        while (counted := counter.count(store, QueueFilter())).totals is None:   # same filter, status aside
            assert time.monotonic() < deadline, "the background count did not finish"
            time.sleep(0.02)
        assert counted.totals.total == 7 and counted.at is not None and counter.running is None
        # a small filter is counted in the page itself
        small = counter.count(store, QueueFilter(query="idee 1"))
        assert small.at is None and small.totals.exact


def test_a_count_out_of_time_says_nothing_rather_than_too_little(tmp_path):
    with Store(tmp_path / "h.db") as store:
        for n in range(1, 301):   # enough rows for SQLite to call the progress handler during the count
            add_post(store, n, confidence=None)
        assert store.reviews.totals(QueueFilter(), cap=1000, budget_ms=0) is None
        assert store.reviews.totals(QueueFilter(), cap=1000, budget_ms=10_000).total == 300
