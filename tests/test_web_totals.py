"""Counts that take seconds on a million posts run apart from the pages editors wait for: the queue's
totals on a large filter (counted in the background, then shown with their time) and the movement
overview (counted in a worker thread, never on the event loop); and how those counts are written."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from harvester.store import Store
from harvester.store.reviews import QueueFilter
from harvester.web import movement as overview_page
from harvester.web import totals

from .webdata import add_post, login, start_site


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
        while (counted := counter.count(store, QueueFilter(sort="confidence"))).totals is None:   # status aside
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


def test_the_overview_counts_off_the_event_loop_and_shows_the_last_count_meanwhile(tmp_path, monkeypatch):
    """While the overview is being counted, other pages answer; a count older than a minute is shown
    while the next one runs. The gate holds the (real) count until the test has looked."""
    gate = threading.Event()
    count = overview_page.overview_figures

    def held(*args, **kwargs):
        assert gate.wait(30), "the test never opened the gate"
        return count(*args, **kwargs)

    monkeypatch.setattr(overview_page, "overview_figures", held)
    site, config = start_site(tmp_path, {"lex": "lezer"}, posts=3)
    try:
        with httpx.Client(base_url=site.url, timeout=10) as reader, ThreadPoolExecutor(1) as pool:
            login(reader, "lex")
            other = httpx.Client(base_url=site.url, timeout=5, cookies=reader.cookies)
            first = pool.submit(reader.get, "/overzicht")
            deadline = time.monotonic() + 10
            while site.app.state.overview_count.running is None:   # the count has started and waits
                assert time.monotonic() < deadline, "the overview was never counted"
                time.sleep(0.02)
            assert other.get("/").status_code == 200   # the queue answers while the count is held
            assert not first.done()
            gate.set()
            assert "Nog te beoordelen: <strong>3</strong> van 3 posts" in first.result(timeout=10).text

            with Store(config.db_path) as store:
                add_post(store, 4)
            monkeypatch.setattr(overview_page, "OVERVIEW_SECONDS", 0)   # the count is now too old
            gate.clear()
            stale = other.get("/overzicht")   # answers at once with the last count, a new one runs
            assert "Nog te beoordelen: <strong>3</strong> van 3 posts" in stale.text
            recount = site.app.state.overview_count.running
            assert not recount.done()
            gate.set()
            deadline = time.monotonic() + 10
            while not recount.done():
                assert time.monotonic() < deadline, "the new count did not finish"
                time.sleep(0.02)
            assert "Nog te beoordelen: <strong>4</strong> van 4 posts" in other.get("/overzicht").text
            other.close()
    finally:
        gate.set()
        site.stop()


def test_a_failed_or_old_overview_count_is_not_kept(tmp_path, monkeypatch):
    """A count that failed is tried again at the next visit; one too old to show is waited for."""
    path = tmp_path / "h.db"
    with Store(path) as store:
        add_post(store, 1)
    count, real = overview_page.OverviewCount(path), overview_page.overview_figures
    failures = [sqlite3.OperationalError("database is locked")]

    def once_locked(*args, **kwargs):
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(overview_page, "overview_figures", once_locked)

    async def visits():
        with pytest.raises(sqlite3.OperationalError):
            await count.figures()           # the page that waited shows the error
        assert (await count.figures())[0].total == 1   # the next visit counts again
        with Store(path) as store:
            add_post(store, 2)
        monkeypatch.setattr(overview_page, "OVERVIEW_SECONDS", 0)
        monkeypatch.setattr(overview_page, "SHOWN_AT_MOST", 0)
        assert (await count.figures())[0].total == 2   # too old to show: the visit waits for the new count

    asyncio.run(visits())


def test_the_bulk_count_is_of_the_posts_listed_and_decided_over(tmp_path):
    """While the model is young the queue lists least certain first: classified posts only. The
    progress line and "alle posts onder dit filter (N)" count those, the posts a bulk decision over
    the filter acts on; newest first (the overview's links) lists and counts them all."""
    import re

    server, config = start_site(tmp_path, {"eva": "redacteur"})
    try:
        with Store(config.db_path) as store:
            for n in range(1, 6):
                add_post(store, n, confidence=0.5 if n <= 3 else None)   # 4 and 5: not classified yet

        def listed(page: str) -> tuple[list[str], str, str]:
            return (re.findall(r'<article class="item[^"]*" id="post-(\d+)"', page),
                    " ".join(re.sub("<[^>]+>", " ", re.search(r'id="voortgang">(.*?)</p>', page, re.S)[1]).split()),
                    " ".join(re.search(r'<option value="filter">(.*?)</option>', page, re.S)[1].split()))

        with httpx.Client(base_url=server.url) as c:
            csrf = login(c, "eva")
            page = c.get("/").text
            assert listed(page) == (["1", "2", "3"], "0 van 3 beoordeeld onder dit filter (0%); nieuw: 3.",
                                    "alle posts onder dit filter (3)")
            newest = re.search(r'<a href="([^"]+)">nieuwste eerst</a> toont ook de andere', page)[1].replace("&amp;", "&")
            overview = re.search(r'<a href="([^"]+)">Nieuw</a></th><td class="num">5<', c.get("/overzicht").text)
            for url in (newest, overview[1].replace("&amp;", "&")):
                assert listed(c.get(url).text) == (["5", "4", "3", "2", "1"],
                                                   "0 van 5 beoordeeld onder dit filter (0%); nieuw: 5.",
                                                   "alle posts onder dit filter (5)")
            filter_query = re.search(r'name="filter" value="([^"]*)"', page)[1].replace("&amp;", "&")
            done = c.post("/bulk", data={"csrf": csrf, "next": "/", "bereik": "filter", "filter": filter_query,
                                         "action": "reject", "reason": "spam"}, follow_redirects=True)
            assert "3 posts bijgewerkt." in done.text
    finally:
        server.stop()


def test_the_overview_writes_its_counts_in_thousands(tmp_path):
    """'Nog te beoordelen: 1.000 van 1.000 posts': the count and the total are written the same way,
    and so are the table under them."""
    server, config = start_site(tmp_path, {"lex": "lezer"})
    try:
        with Store(config.db_path) as store, store.atomic():
            for n in range(1, 1001):
                add_post(store, n)
        with httpx.Client(base_url=server.url, timeout=30) as c:
            login(c, "lex")
            page = c.get("/overzicht").text
        assert "Nog te beoordelen: <strong>1.000</strong> van 1.000 posts (100%)." in page
        assert '>Nieuw</a></th><td class="num">1.000</td>' in page
    finally:
        server.stop()


@pytest.mark.parametrize(("posts", "sentence"), [
    (1, "Dit geldt voor de ene post onder het filter, met de thema's die het model voorstelt"),
    (2, "Dit geldt voor alle 2 posts onder het filter, elk met de thema's die het model voorstelt"),
])
def test_the_bulk_confirmation_speaks_of_one_post_or_each_of_more(tmp_path, monkeypatch, posts, sentence):
    """The confirmation is asked above CONFIRM_ABOVE posts; lowered here so that one post reaches it."""
    import re

    from harvester.web import views

    monkeypatch.setattr(views, "CONFIRM_ABOVE", 0)
    server, config = start_site(tmp_path, {"eva": "redacteur"}, posts=posts)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            csrf = login(c, "eva")
            filter_query = re.search(r'name="filter" value="([^"]*)"', c.get("/").text)[1].replace("&amp;", "&")
            page = c.post("/bulk", data={"csrf": csrf, "next": "/", "bereik": "filter", "filter": filter_query,
                                         "action": "accept"}).text
        assert sentence in " ".join(page.split())
    finally:
        server.stop()


def test_the_movement_figures_and_shares_are_written_as_the_other_counts(tmp_path):
    """The movement's figures, its weekly table and small multiples (on the overview and its print
    view) write thousands as the counts beside them do (1.000); a share that is neither none nor all
    never reads as 100%: 999 of 1.000 posts still to review is 99%, not all of them."""
    server, config = start_site(tmp_path, {"lex": "lezer", "eva": "redacteur"})
    try:
        with Store(config.db_path) as store, store.atomic():
            for n in range(1, 1001):   # one week: the week's figures and the theme's bar reach 1.000 too
                add_post(store, n, published_at="2026-11-25T10:00:00+00:00")
            store.reviews.decide(1, store.users.get("eva"), 0, "set_themes", themes=["cultuur"])
        with httpx.Client(base_url=server.url, timeout=30) as c:
            login(c, "lex")
            page, printed = c.get("/overzicht").text, c.get("/overzicht/afdruk").text
        with httpx.Client(base_url=server.url, timeout=30) as c:
            login(c, "eva")
            queue = " ".join(c.get("/").text.split())
        assert "Nog te beoordelen: <strong>999</strong> van 1.000 posts (99%)." in page
        assert "<strong>1 van 1.000</strong> beoordeeld onder dit filter (1%)" in queue   # the queue's share too
        for shown in (page, printed):
            assert "<div><dt>Posts</dt><dd>1.000</dd></div>" in shown
            assert '<th scope="row">23-11-2026</th><td class="num">1.000</td><td class="num">1.000</td>' in shown
            assert '<td class="num">1.000</td>' in shown.split('id="thema-tabel"')[1]   # cultuur that week
            assert ">1.000</text>" in shown   # the shared scale's top
    finally:
        server.stop()
