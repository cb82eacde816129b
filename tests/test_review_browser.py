"""The editors' day in a real browser (issue 17): Dutch time, the keyboard, a compact queue, totals,
bulk over a filter, search on lemmas, back links, the reader's view, errors inside the layout.

One browser and one running app for the module; each test gets a fresh context (cookies). Tests
that decide work on posts of their own (by text or number), so their order does not matter.
"""

from __future__ import annotations

import re

import pytest

from harvester.store import Store
from harvester.web import ServerThread

from .conftest import require_program
from .test_web_browser import CHROMIUM_ARGS
from .webdata import PASSWORD, add_post, add_user, write_web_config

pytestmark = pytest.mark.browser

# published at 18:16 UTC on a winter day: 19:16 in Dutch time
WINTER = "2026-11-20T18:16:00+00:00"


@pytest.fixture(scope="module")
def browser():
    executable = require_program("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    config = write_web_config(tmp_path_factory.mktemp("review"))
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        add_user(store, "lex", "lezer")
        add_post(store, 1, "De tijd van dit idee staat in Nederlandse tijd #innoverheid", published_at=WINTER)
    server = ServerThread(config).start()
    yield server, config
    server.stop()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(base_url=site[0].url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    p = context.new_page()
    yield p
    context.close()


def log_in(page, name="eva", then="/"):
    page.goto("/login?next=" + then.replace("&", "%26").replace("?", "%3F"))
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}x)" for v in Axe().run(page).response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_times_are_dutch_and_say_so(page, site):
    log_in(page)
    page.goto("/?status=alle&q=Nederlandse")
    card = page.locator("#post-1")
    assert card.locator("time").first.inner_text() == "2026-11-20 19:16"
    assert card.locator("time").first.get_attribute("datetime") == WINTER
    assert "Nederlandse tijd" in page.inner_text("main")
    page.focus("#post-1")
    page.keyboard.press("a")
    page.wait_for_selector('#post-1[data-version="1"]')
    with Store(site[1].db_path) as store:
        decided_at = store.reviews.state(1).updated_at
    from harvester.timeutil import dutch_time
    assert dutch_time(decided_at) in page.inner_text("#post-1")
    page.goto("/posts/1")
    assert "Wanneer (Nederlandse tijd)" in page.inner_text("table")
    assert dutch_time(decided_at, seconds=True) in page.inner_text("table")
    page.goto("/overzicht")
    assert re.search(r"Stand van \d\d:\d\d \(Nederlandse tijd", page.inner_text("main"))
    assert serious_violations(page) == []
