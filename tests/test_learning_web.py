"""The review app while the model learns: the queue's order, and how often editors agreed with it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from harvester.store import Store
from harvester.store.model_versions import ModelVersion

from .test_web_security import own_site
from .webdata import add_post, add_user, login, write_web_config


def order(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<article class="item[^"]*" id="post-(\d+)"', page)]


def model(version: str, learned_from: int) -> ModelVersion:
    return ModelVersion(version=version, path=f"models/{version}", created_at="", learned_from=learned_from,
                        decisions=learned_from, decisions_read_at="2026-12-01T00:00:00+00:00")


def test_the_queue_shows_the_least_certain_first_while_the_model_is_young(tmp_path):
    config = write_web_config(tmp_path)
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        newest = add_post(store, 1, published_at="2026-11-20T10:00:00+00:00", confidence=0.9)
        oldest = add_post(store, 2, published_at="2026-11-01T10:00:00+00:00", confidence=0.1)
        middle = add_post(store, 3, published_at="2026-11-10T10:00:00+00:00", confidence=0.5)
    by_date, by_confidence = [newest, middle, oldest], [oldest, middle, newest]
    with own_site(config) as c:
        login(c, "eva")
        # the configured model learned from no decisions
        page = c.get("/").text
        assert order(page) == by_confidence
        assert "het model leerde nog maar van 0 beslissingen" in page
        assert '<option value="confidence" selected>' in page
        explicit = c.get("/?sort=date").text     # an explicit choice wins
        assert order(explicit) == by_date and "nog maar van" not in explicit
        with Store(config.db_path) as store:
            store.models.add(model("themes-jong", 199), activate=True)
        assert order(c.get("/").text) == by_confidence
        with Store(config.db_path) as store:
            store.models.add(model("themes-ervaren", 200), activate=True)
        page = c.get("/").text
        assert order(page) == by_date and "nog maar van" not in page
        assert order(c.get("/?sort=confidence").text) == by_confidence


def test_the_next_page_keeps_the_order_it_started_in(tmp_path):
    config = write_web_config(tmp_path)
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        for n in range(30):
            add_post(store, n, confidence=n / 100)
    with own_site(config) as c:
        login(c, "eva")
        page = c.get("/").text
        next_url = re.search(r'href="(/\?[^"]*after=[^"]*)" rel="next"', page).group(1).replace("&amp;", "&")
        assert "sort=confidence" in next_url
        with Store(config.db_path) as store:
            store.models.add(model("themes-ervaren", 500), activate=True)
        assert len(order(c.get(next_url).text)) == 5


def monday(weeks_ago: int) -> datetime:
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    return today - timedelta(days=today.weekday() + 7 * weeks_ago)


@pytest.fixture
def decided(tmp_path):
    """Posts decided in two weeks: (config, last week's Monday, this week's Monday)."""
    config = write_web_config(tmp_path)
    suggested = {"cultuur": 0.8, "samenwerking": 0.3}
    nothing = {"cultuur": 0.2}
    with Store(config.db_path) as store:
        eva = add_user(store, "eva", "redacteur")
        p = {n: add_post(store, n, scores=nothing if n == 3 else suggested, confidence=None if n == 5 else 0.4)
             for n in range(1, 8)}
        decide = store.reviews.decide
        decide(p[1], eva, 0, "accept")                                    # the suggestion: agrees
        decide(p[2], eva, 0, "set_themes", themes=["structuur"])          # another theme
        decide(p[3], eva, 0, "reject", reason="geen_idee")                # nothing suggested, rejected: agrees
        decide(p[4], eva, 0, "reject", reason="off_topic")                # a theme suggested, rejected
        decide(p[5], eva, 0, "reject", reason="spam")                     # not classified then: left out
        decide(p[6], eva, 0, "accept")
        decide(p[6], eva, 1, "set_themes", themes=["cultuur", "structuur"])   # changed later: disagrees
        decide(p[7], eva, 0, "accept")
        decide(p[7], eva, 1, "reopen")                                    # no decision now: left out
        earlier, later = monday(1), monday(0)
        for n, when in ((1, earlier), (2, earlier), (3, later), (4, later), (6, later), (7, later)):
            store.db.execute("UPDATE review_events SET at = ? WHERE post_id = ?",
                             [when.isoformat(timespec="milliseconds"), p[n]])
        store.db.conn.commit()
        events = dict(store.db.execute("SELECT post_id, suggested FROM review_events WHERE action != 'set_themes'"
                                       " AND action != 'reopen'").fetchall())
    assert json.loads(events[p[1]]) == ["cultuur"] and json.loads(events[p[3]]) == [] and events[p[5]] is None
    return config, earlier.date().isoformat(), later.date().isoformat()


def test_agreement_per_week_in_the_store(decided):
    config, earlier, later = decided
    week = lambda iso: (iso, (datetime.fromisoformat(iso) + timedelta(weeks=1)).date().isoformat())   # noqa: E731
    with Store(config.db_path) as store:
        assert store.reviews.agreement_in([week(earlier), week(later)]) == [(1, 2), (1, 3)]
        assert store.reviews.agreement_in([week(later)]) == [(1, 3)]


def test_the_overview_shows_agreement_per_week(decided):
    config, earlier, later = decided
    with own_site(config) as c:
        login(c, "eva")
        page = c.get("/overzicht").text
    rows = re.findall(r'<tr><th scope="row">(\d\d-\d\d-\d{4})(?: \(lopende week\))?</th><td class="num">(\d+)</td>'
                      r'<td class="num">(\d+)</td><td class="num">(\d+)%</td></tr>', page)
    day = lambda iso: f"{iso[8:10]}-{iso[5:7]}-{iso[:4]}"   # noqa: E731
    assert rows == [(day(earlier), "2", "1", "50"), (day(later), "3", "1", "33")]
    assert "Eens met het model" in page
