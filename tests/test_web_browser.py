"""The review app in a real browser (Debian's chromium via Playwright): the keyboard flow and axe-core.

One browser for the module; each test gets a fresh context (cookies) on the same running server.
"""

from __future__ import annotations

import json

import pytest

from harvester.store import Store
from harvester.web import ServerThread

from .conftest import require_program
from .webdata import PASSWORD, add_post, add_user, write_web_config

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SIMILAR = "De gemeente moet vergunningen voor evenementen digitaal en binnen twee weken afhandelen"


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
    directory = tmp_path_factory.mktemp("browser")
    config = write_web_config(directory)
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        for n in range(1, 16):
            text = SIMILAR + " #innoverheid" if n in (1, 13) else ""
            add_post(store, n, text, published_at=f"2026-11-{30 - n:02d}T10:00:00+00:00",
                     scores={"cultuur": 0.8, "structuur": 0.3} if n % 2 else {"open_overheid": 0.7},
                     confidence=0.3 + n / 100)
    server = ServerThread(config).start()
    yield server, config
    server.stop()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(base_url=site[0].url)
    context.set_default_timeout(10_000)  # generous for a busy CI machine; a passing run takes a few seconds
    p = context.new_page()
    yield p
    context.close()


def log_in(page, name="eva"):
    page.goto("/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/")


def post_ids(page) -> list[int]:
    return [int(x) for x in page.eval_on_selector_all("ol.items article.item", "els => els.map(e => e.dataset.id)")]


def wait_version(page, post_id: int, version: int) -> None:
    page.wait_for_selector(f'#post-{post_id}[data-version="{version}"]')


def test_keyboard_review_undo_duplicate_and_bulk(page, site):
    log_in(page)
    # filter: only what the model puts under Open overheid
    page.select_option("#f-theme", "open_overheid")
    page.click("text=Filteren")
    page.wait_for_url("**theme=open_overheid**")
    filtered = post_ids(page)
    assert filtered and all(i % 2 == 0 for i in filtered)
    assert page.get_attribute(f"#post-{filtered[0]} .content", "lang") == "nl"
    page.goto("/")
    ids = post_ids(page)
    assert len(ids) == 15

    # ten posts, keyboard only: theme toggles, accepts and rejects
    page.keyboard.press("j")
    expected = {}
    for n, post_id in enumerate(ids[:10]):
        assert page.evaluate("document.activeElement.dataset.id") == str(post_id)
        if n % 3 == 0:
            page.keyboard.press("3")  # theme 3 (Structuur) on top of the suggestion: not saved yet
            assert page.get_attribute(f"#post-{post_id}", "data-version") == "0"
            page.keyboard.press("a")
            wait_version(page, post_id, 1)
            expected[post_id] = "geaccepteerd"
        elif n % 3 == 1:
            page.keyboard.press("a")
            wait_version(page, post_id, 1)
            expected[post_id] = "geaccepteerd"
        else:
            page.keyboard.press("x")
            if n == 2:  # the first time: the reason, remembered for the session
                page.wait_for_selector("#reden-kiezen[open]")
                page.check("#reden-onthouden")
                page.keyboard.press("3")
            wait_version(page, post_id, 1)
            expected[post_id] = "afgewezen"
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.dataset.id") == str(ids[9])
    page.keyboard.press("?")
    assert page.is_visible("#hulp") and "volgende / vorige post" in page.inner_text("#hulp")
    page.keyboard.press("Escape")
    assert not page.is_visible("#hulp")
    page.focus(f"#post-{ids[9]}")
    # undo the last decision (the tenth post, accepted with a theme added)
    page.keyboard.press("u")
    wait_version(page, ids[9], 2)
    expected[ids[9]] = "nieuw"
    assert "Nieuw" in page.inner_text(f"#post-{ids[9]} .badge")

    # duplicate: post 13 is like post 1; d shows candidates, Enter picks the first
    dup = 13
    page.focus(f"#post-{dup}")
    page.keyboard.press("d")
    page.wait_for_selector(f"#post-{dup} button.candidate")
    assert page.evaluate("document.activeElement.textContent") == "Duplicaat van post 1"
    page.keyboard.press("Enter")
    wait_version(page, dup, 1)
    expected[dup] = "duplicaat"

    # bulk: select the two remaining untouched posts and accept their suggestions
    rest = [i for i in ids if i not in expected]
    for post_id in rest[:2]:
        page.check(f"#kies-{post_id}")
    page.click("#bulk button[value=accept]")
    page.wait_for_selector("text=2 posts bijgewerkt")
    for post_id in rest[:2]:
        expected[post_id] = "geaccepteerd"

    # a note, keyboard only: n, type, Ctrl+Enter
    noted = rest[2]
    page.focus(f"#post-{noted}")
    page.keyboard.press("n")
    page.keyboard.type("Bespreken in de werkgroep")
    page.keyboard.press("Control+Enter")
    wait_version(page, noted, 1)
    expected[noted] = "nieuw"

    with Store(site[1].db_path) as store:
        assert store.reviews.state(noted).note == "Bespreken in de werkgroep"
        for post_id, status in expected.items():
            assert store.reviews.state(post_id).status == status, post_id
        assert store.reviews.state(ids[0]).themes == ("cultuur", "structuur")  # odd id: cultuur suggested
        assert store.reviews.state(dup).duplicate_of == 1
        trail = store.db.execute("SELECT post_id, actor, action, before, after FROM review_events ORDER BY id").fetchall()
    assert {actor for _, actor, *_ in trail} == {"eva"}
    actions = [a for _, _, a, _, _ in trail]
    assert actions.count("set_themes") == 0 and actions.count("accept") == 4 + 3 + 2 and actions.count("reject") == 3
    assert actions.count("undo") == 1 and actions.count("duplicate") == 1 and actions.count("note") == 1
    undo = next(t for t in trail if t[2] == "undo")
    assert undo[0] == ids[9]
    assert json.loads(undo[3])["status"] == "geaccepteerd" and json.loads(undo[4])["status"] == "nieuw"


def test_a_stale_item_shows_the_new_state(page, site):
    log_in(page)
    page.goto("/?status=alle")
    post_id = post_ids(page)[-1]
    with Store(site[1].db_path) as store:
        state = store.reviews.state(post_id)
        store.reviews.decide(post_id, store.users.get("eva"), state.version, "note", note="van een collega")
    page.focus(f"#post-{post_id}")
    page.keyboard.press("a")
    page.wait_for_selector(f"#post-{post_id} .problem")
    assert "intussen gewijzigd" in page.inner_text(f"#post-{post_id} .problem")
    assert "van een collega" in page.inner_text(f"#post-{post_id}")
    with Store(site[1].db_path) as store:
        assert store.reviews.state(post_id).note == "van een collega"
        assert store.reviews.state(post_id).version == state.version + 1


def test_a_double_press_decides_once_and_says_so(page, site):
    """'a' pressed twice before the answer comes: one request. A second one would carry the same
    version, be refused as stale, and its refusal be announced over the first one's success."""
    from playwright.sync_api import expect

    log_in(page)
    page.goto("/?status=nieuw&sort=date")
    post_id = post_ids(page)[0]
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/decision") else None)
    page.focus(f"#post-{post_id}")
    with Store(site[1].db_path) as store:
        version = store.reviews.state(post_id).version
        with store.atomic():   # the write lock: the server cannot answer until both presses are made
            page.keyboard.press("a")
            page.keyboard.press("a")
    wait_version(page, post_id, version + 1)
    expect(page.locator("#meldingen")).to_have_text(f"Post {post_id}: geaccepteerd.")
    page.wait_for_load_state("networkidle")
    assert len(sent) == 1
    assert "geaccepteerd" in page.inner_text(f"#post-{post_id} .message")
    with Store(site[1].db_path) as store:
        assert store.reviews.state(post_id).version == version + 1


def test_no_serious_accessibility_violations(page, browser, site):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    problems = {}
    page.goto("/login")
    pages = {"login": None, "queue": "/", "post": "/posts/1", "overview": "/overzicht"}
    for name, url in pages.items():
        if url:
            page.goto(url)
        violations = axe.run(page).response["violations"]
        bad = [f"{v['id']}: {v['help']} ({len(v['nodes'])}x)" for v in violations
               if v["impact"] in ("serious", "critical")]
        if bad:
            problems[name] = bad
        if name == "login":
            log_in(page)
    assert problems == {}
