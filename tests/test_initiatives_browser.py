"""The "Initiatieven" pages in a real browser (Debian's chromium via Playwright): the list, an
initiative's page, the network SVG beside its table, a redacteur confirming and dismissing a
candidate, a lezer who may look but not decide, and axe-core on every new page."""

from __future__ import annotations

import pytest

from harvester.initiatives import step
from harvester.store import Store
from harvester.web import ServerThread

from .initiativesdata import store_all
# the review app's browser fixtures; `page` opens on this module's `site`
from .test_web_browser import browser, page  # noqa: F401
from .webdata import PASSWORD, add_user, write_web_config

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    directory = tmp_path_factory.mktemp("initiatives-browser")
    config = write_web_config(directory)
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        add_user(store, "lex", "lezer")
        store_all(store)
        step.update(store, config)
    server = ServerThread(config).start()
    yield server, config
    server.stop()


def log_in(page, name: str) -> None:
    page.goto("/initiatieven")   # sent to the login page first, and back after it
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url.endswith("/initiatieven") and "/login" not in url)


def test_the_list_the_network_and_an_initiative(page):
    log_in(page, "lex")
    assert page.get_by_role("heading", name="Initiatieven", level=1).is_visible()
    network = page.get_by_role("img", name="Netwerk van 11 initiatieven")
    assert network.is_visible()
    box = network.bounding_box()
    assert box["width"] > 300 and box["height"] > 200
    table = page.get_by_role("table", name="Verbindingen tussen initiatieven")
    assert table.is_visible()
    # the table stands beside the picture on a wide screen
    assert table.bounding_box()["x"] > box["x"] + box["width"] - 1
    assert page.locator("svg.network text", has_text="Ynnovate").count() == 1
    page.get_by_role("link", name="Ynnovate", exact=True).click()
    page.wait_for_url("**/initiatieven/ynnovate")
    assert page.get_by_role("heading", name="Ynnovate", level=1).is_visible()
    assert page.locator("ol.initiative-posts > li").count() == 2
    page.locator("ol.initiative-posts a").first.click()
    page.wait_for_url("**/posts/*")


def test_a_redacteur_confirms_and_dismisses(page, site):
    log_in(page, "eva")
    page.get_by_role("link", name="Kandidaten").click()
    page.wait_for_url("**/initiatieven/kandidaten")
    tag = page.get_by_role("group", name="#grandparade")
    tag.get_by_label("Naam van het nieuwe initiatief").fill("Grand Parade")
    tag.get_by_role("button", name="Nieuw initiatief").click()
    page.get_by_role("status").filter(has_text="bevestigd als nieuw initiatief Grand Parade").wait_for()
    domain = page.get_by_role("group", name="grandparade.example")
    domain.get_by_label("Hoort bij").select_option("Grand Parade")
    domain.get_by_role("button", name="Toevoegen aan").click()
    page.get_by_role("status").filter(has_text="toegevoegd aan Grand Parade").wait_for()
    page.get_by_role("button", name="Grand Parade afwijzen: geen initiatief").click()
    page.get_by_role("status").filter(has_text="Grand Parade: afgewezen").wait_for()
    assert page.locator("ol.candidates > li").count() == 0
    decisions = page.get_by_role("table", name="Besluiten over kandidaten")
    assert decisions.locator("tbody tr").count() == 3 and "eva" in decisions.inner_text()
    # the background job's next round links the posts
    with Store(site[1].db_path) as store:
        step.update(store, site[1])
    page.goto("/initiatieven/grand-parade")
    assert page.locator("ol.initiative-posts > li").count() == 4


def test_a_lezer_sees_no_decisions_to_take(page):
    log_in(page, "lex")
    page.goto("/initiatieven/kandidaten")
    assert page.get_by_text("alleen redacteuren kunnen kandidaten bevestigen of afwijzen").is_visible()
    assert page.get_by_role("button", name="Nieuw initiatief").count() == 0


def test_no_serious_accessibility_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    log_in(page, "eva")
    problems = {}
    for url in ("/initiatieven", "/initiatieven/ynnovate", "/initiatieven/kandidaten"):
        page.goto(url)
        violations = axe.run(page).response["violations"]
        bad = [f"{v['id']}: {v['help']} ({len(v['nodes'])}x)" for v in violations
               if v["impact"] in ("serious", "critical")]
        if bad:
            problems[url] = bad
    assert problems == {}
