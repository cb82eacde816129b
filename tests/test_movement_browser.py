"""Related ideas, grouping, the movement overview and its A4 print view, and the charter, in a real browser.

Debian's chromium via Playwright; axe-core finds no serious or critical violation on the pages touched.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile

import pytest

from harvester.nlp.related import TermExtractor
from harvester.related import index_pending
from harvester.store import Store
from harvester.web import ServerThread

from .test_related import PAIRS
from .test_web_browser import browser, log_in  # noqa: F401 (browser: the module's chromium fixture)
from .webdata import add_post, add_user, write_web_config

pytestmark = pytest.mark.browser

# A4 at 96 CSS pixels per inch: 210 x 297 mm
A4_WIDTH, A4_HEIGHT = 794, 1123


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    directory = tmp_path_factory.mktemp("movement")
    config = write_web_config(directory)
    texts = list(dict.fromkeys(t for p in PAIRS for t in (p["a"], p["b"])))
    with Store(config.db_path) as store:
        editor = add_user(store, "eva", "redacteur")
        ids = [add_post(store, n, text, author=f"schrijver{n}@mastodon.nl",
                        scores={"cultuur": 0.8} if n % 3 else {"samenwerking": 0.9, "structuur": 0.6})
               for n, text in enumerate(texts, 1)]
        for post_id in ids[8:14]:
            store.reviews.decide(post_id, editor, 0, "accept")
        index_pending(store, TermExtractor())
    server = ServerThread(config).start()
    yield server, config, ids
    server.stop()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(base_url=site[0].url, accept_downloads=True)
    context.set_default_timeout(15_000)
    p = context.new_page()
    yield p
    context.close()


def serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    return [f"{v['id']}: {v['help']}" for v in Axe().run(page).response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_related_ideas_on_a_post_page_and_grouping_them(page, site):
    ids = site[2]
    log_in(page)
    page.goto(f"/posts/{ids[0]}")
    related = page.locator(f"section.related >> a[href='/posts/{ids[1]}']")
    related.wait_for()
    assert serious(page) == []
    page.check(f"#samen-{ids[0]}-{ids[1]}")
    page.click("text=als één idee markeren")
    page.wait_for_selector("text=nu één idee")
    assert page.locator(".group").inner_text().count("Post ") >= 2
    assert serious(page) == []
    page.click("button:has-text('Groep opheffen')")
    page.wait_for_selector("text=is gewijzigd")
    assert page.locator(".group").count() == 0


def test_grouping_from_the_queue_and_related_ideas_in_a_card(page, site):
    ids = site[2]
    log_in(page)
    page.goto("/?status=nieuw&sort=date")
    card = page.locator(f"#post-{ids[2]}")
    card.locator("a.show-related").click()
    card.locator(".related-box h3").wait_for()
    assert card.locator(f".related-box a[href='/posts/{ids[3]}']").count() == 1
    assert serious(page) == []
    page.check(f"#post-{ids[4]} input[name=select]")
    page.check(f"#post-{ids[5]} input[name=select]")
    page.click("button:has-text('Als één idee markeren')")
    page.wait_for_selector("text=nu één idee")
    with Store(site[1].db_path) as store:
        group = store.groups.group_of(ids[4])
        assert group is not None and store.groups.members(group) == sorted(ids[4:6])
        store.groups.ungroup(group, store.users.get("eva"))


def test_the_overview_marks_the_running_week_and_its_print_view_fits_a4(page, site):
    log_in(page)
    page.goto("/overzicht")
    assert "(Nederlandse tijd)" in page.inner_text("main")
    assert page.locator("tr.incomplete .tag").inner_text() == "lopende week, nog niet compleet"
    assert page.locator("svg.multiple").count() == 8
    assert page.locator("rect.open-week").count() == 8
    # each open week is hatched: its fill names a pattern the page holds (a missing one draws nothing)
    hatching = page.evaluate("""() => [...document.querySelectorAll('rect.open-week')].map(bar => {
        const id = /^url\\(#(.+)\\)$/.exec(bar.getAttribute('fill'))[1];
        return document.getElementById(id)?.localName ?? 'none: ' + id; })""")
    assert hatching == ["pattern"] * 8
    assert serious(page) == []
    page.set_viewport_size({"width": A4_WIDTH, "height": A4_HEIGHT})
    page.goto("/overzicht/afdruk")
    assert serious(page) == []
    page.emulate_media(media="print")
    size = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    shot = page.screenshot(full_page=True)
    width, height = struct.unpack(">II", shot[16:24])    # the PNG's IHDR: the whole page as drawn
    assert width <= A4_WIDTH and height <= A4_HEIGHT, (size, width, height)
    pdf = page.pdf(format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1     # one A4 page


def test_the_charter_downloads_as_odf_text(page, site):
    log_in(page)
    page.click("text=Charter")
    page.wait_for_url("**/charter")
    assert serious(page) == []
    with page.expect_download() as info:
        page.click("button:has-text('Charter downloaden')")
    download = info.value
    assert download.suggested_filename.startswith("conceptcharter-") and download.suggested_filename.endswith(".odt")
    data = open(download.path(), "rb").read()
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.text"
    assert "Cultuur" in archive.read("content.xml").decode()
