"""The export page in a real browser (Debian's chromium via Playwright): a download, and axe-core."""

from __future__ import annotations

import codecs

import pytest

from harvester.store import Store
from harvester.web import ServerThread

from .conftest import require_program
from .test_export import HEADER, fill, read_csv
from .test_web_browser import CHROMIUM_ARGS
from .webdata import PASSWORD, add_user, write_web_config

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    config = write_web_config(tmp_path_factory.mktemp("browser-export"))
    with Store(config.db_path) as store:
        ids = fill(store)
        add_user(store, "lex", "lezer")
    server = ServerThread(config).start()
    yield server, ids
    server.stop()


@pytest.fixture
def page(site):
    executable = require_program("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=site[0].url, accept_downloads=True)
        context.set_default_timeout(10000)
        yield context.new_page()
        browser.close()


def test_a_reader_downloads_the_accepted_ideas_from_an_accessible_form(page, site, tmp_path):
    from axe_playwright_python.sync_playwright import Axe

    page.goto("/login")
    page.fill("#name", "lex")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    page.click("text=Exporteren")
    page.wait_for_url("**/export")
    violations = [v["id"] for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    assert violations == []
    page.check("#e-status-geaccepteerd")
    with page.expect_download() as info:
        page.click("button:has-text('Downloaden')")
    download = info.value
    assert download.suggested_filename.startswith("ideeen-") and download.suggested_filename.endswith(".csv")
    path = tmp_path / "download.csv"
    download.save_as(path)
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    rows = read_csv(data, "excel-nl")
    assert rows[0] == HEADER and [r[0] for r in rows[1:]] == [str(site[1]["p2"])]
