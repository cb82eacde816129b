"""The editors' day in a real browser (issue 17): Dutch time, the keyboard, a compact queue, totals,
bulk over a filter, search on lemmas, back links, the reader's view, errors inside the layout.

One browser and one running app for the module; each test gets a fresh context (cookies). Tests
that decide work on posts of their own (by text or number), so their order does not matter.
"""

from __future__ import annotations

import csv
import io
import re
import time

import pytest

from harvester.store import Store
from harvester.web import ServerThread

from .test_web_browser import browser  # noqa: F401  (the module's chromium, launched the same way)
from .test_web_store import edit_at_source
from .webdata import PASSWORD, add_post, add_user, write_web_config

pytestmark = pytest.mark.browser

# published at 18:16 UTC on a winter day: 19:16 in Dutch time
WINTER = "2026-11-20T18:16:00+00:00"
LONG = ("De gemeentesecretaris zou veel meer ruimte moeten geven aan ambtenaren die willen experimenteren met "
        "nieuwe manieren van werken; nu loopt elk idee vast in drie overleggen en een stuurgroep. Laat teams zelf "
        "een budget beheren, deel de resultaten open en leer van wat niet lukt. Dat scheelt iedereen tijd. " * 2)
SEARCH = {
    14: "De gemeente wil meer ruimte voor experimenten #innoverheid",
    15: "Drie gemeenten werken samen aan open data #innoverheid",
    16: "Gemeentes en provincies delen hun data open met inwoners #innoverheid",
    17: "De provincie start een proeftuin #innoverheid",
    18: "Een gemeentelijke proeftuin, met spam erbij #innoverheid",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    config = write_web_config(tmp_path_factory.mktemp("review"))
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        add_user(store, "lex", "lezer")
        add_user(store, "bea", "beheerder")
        add_post(store, 1, "De tijd van dit idee staat in Nederlandse tijd #innoverheid", published_at=WINTER)
        # each post's number is the id it gets: they are stored in this order
        for n in range(2, 7):   # the keyboard's posts (a search lists them newest collected first: 6 .. 2)
            add_post(store, n, f"Toetsenbord idee {n}: laat teams zelf experimenteren #innoverheid",
                     published_at=f"2026-10-{30 - n:02d}T10:00:00+00:00")
        add_post(store, 7, "Zonder voorstel: het model ziet hier geen thema #innoverheid", scores={"cultuur": 0.2})
        for n in range(8, 14):
            add_post(store, n, f"Kompakt {n}: {LONG}", published_at=f"2026-10-{n:02d}T09:00:00+00:00")
        for n, text in SEARCH.items():
            add_post(store, n, text)
        for n in range(19, 124):
            add_post(store, n, f"Bulkidee nummer {n} #innoverheid", source="bulkbron")
        add_post(store, 124, "Kees schrijft over pilots in de wijk #innoverheid", author="Kees van Dijk (blog.example.nl)",
                 author_name="Kees van Dijk", source="blog-kees")
        for n in range(125, 128):
            add_post(store, n, f"Zonderjs idee {n} #innoverheid", published_at=f"2026-09-{n - 110:02d}T10:00:00+00:00")
        add_post(store, 128, "Zonderthema in bulk, het model ziet niets #innoverheid", scores={"cultuur": 0.2})
        add_post(store, 129, "Zonderthema in bulk, met cultuur #innoverheid")
        add_post(store, 130, "Regeleinden in een notitie #innoverheid")
        add_post(store, 131, "Bronwijziging: laat teams zelf experimenteren #innoverheid")
        for n in range(132, 135):
            add_post(store, n, f"Eigenbesluit {n}: eerst op de kaart, dan de hele pagina #innoverheid")
        assert store.posts.count() == 134
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
    # the movement overview names the day too (it goes on paper to the team's meeting)
    assert re.search(r"Stand van \d\d-\d\d-\d{4} \d\d:\d\d \(Nederlandse tijd", page.inner_text("main"))
    assert serious_violations(page) == []


def ids(page) -> list[int]:
    return [int(x) for x in page.eval_on_selector_all("ol.items article.item", "els => els.map(e => e.dataset.id)")]


def state(site, post_id):
    with Store(site[1].db_path) as store:
        return store.reviews.state(post_id)


def test_number_keys_only_toggle_and_a_x_u_j_k_decide(page, site):
    log_in(page, then="/?q=toetsenbord")
    order = ids(page)
    assert order == [6, 5, 4, 3, 2]   # a search: the newest collected first
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.dataset.id") == "6"
    # 3 ticks Structuur and saves nothing; a accepts with the ticked themes
    page.keyboard.press("3")
    assert page.is_checked("#post-6 input[name=themes][data-index='3']")
    deadline = time.monotonic() + 5   # the announcement is set 50 ms later (for screen readers)
    while "Nog niet opgeslagen" not in (page.text_content("#meldingen") or ""):
        assert time.monotonic() < deadline, "no announcement that the toggle is not saved yet"
        page.wait_for_timeout(20)
    assert state(site, 6).version == 0 and page.get_attribute("#post-6", "data-version") == "0"
    page.keyboard.press("3")
    page.keyboard.press("3")
    page.keyboard.press("a")
    page.wait_for_selector('#post-6[data-version="1"]')
    assert state(site, 6).status == "geaccepteerd" and "structuur" in state(site, 6).themes
    assert page.evaluate("document.activeElement.dataset.id") == "5"   # on to the next post
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.dataset.id") == "6"
    page.keyboard.press("j")
    # x asks for the reason; 2 picks Off-topic
    page.keyboard.press("x")
    page.wait_for_selector("#reden-kiezen[open]")
    assert state(site, 5).version == 0
    page.keyboard.press("2")
    page.wait_for_selector('#post-5[data-version="1"]')
    assert (state(site, 5).status, state(site, 5).reject_reason) == ("afgewezen", "off_topic")
    # remembered for the session: shown above the queue, and x then rejects at once
    page.keyboard.press("x")
    page.wait_for_selector("#reden-kiezen[open]")
    page.check("#reden-onthouden")
    page.keyboard.press("3")
    page.wait_for_selector('#post-4[data-version="1"]')
    assert page.is_visible("#sessie-reden") and "Spam" in page.inner_text("#sessie-reden")
    page.keyboard.press("x")
    page.wait_for_selector('#post-3[data-version="1"]')
    assert not page.is_visible("#reden-kiezen")
    assert (state(site, 3).status, state(site, 3).reject_reason) == ("afgewezen", "spam")
    # u undoes the last decision; then there is nothing left to undo on that post
    page.keyboard.press("u")
    page.wait_for_selector('#post-3[data-version="2"]')
    assert state(site, 3).status == "nieuw"
    assert page.is_disabled("#post-3 button[value=undo]")
    assert not page.is_disabled("#post-4 button[value=undo]")
    page.click("#sessie-reden button")
    assert not page.is_visible("#sessie-reden")
    # the button without a reason asks for one too
    page.click("#post-2 button[value=reject]")
    page.wait_for_selector("#reden-kiezen[open]")
    page.keyboard.press("1")
    page.wait_for_selector('#post-2[data-version="1"]')
    assert state(site, 2).reject_reason == "geen_idee"
    assert serious_violations(page) == []


def test_accepting_without_a_theme_asks_first(page, site):
    log_in(page, then="/?q=voorstel")
    assert ids(page) == [7]
    page.focus("#post-7")
    page.keyboard.press("a")
    page.wait_for_selector("#post-7 .ask")
    assert "geen thema" in page.inner_text("#post-7 .ask")
    assert state(site, 7).version == 0
    assert page.evaluate("document.activeElement.className") == "confirm-empty"
    assert serious_violations(page) == []
    page.keyboard.press("Enter")
    page.wait_for_selector('#post-7[data-version="1"]')
    assert (state(site, 7).status, state(site, 7).themes) == ("geaccepteerd", ())


def test_four_cards_fit_on_a_1366_by_900_screen(page, site, tmp_path):
    log_in(page, then="/?q=kompakt")
    assert len(ids(page)) == 6
    shot = tmp_path / "wachtrij.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[16:24] == (1366).to_bytes(4, "big") + (900).to_bytes(4, "big")   # PNG size
    boxes = page.eval_on_selector_all("ol.items article.item", "els => els.map(e => e.getBoundingClientRect().toJSON())")
    assert boxes[3]["bottom"] <= 900, boxes[:4]          # four whole cards on the first screen
    assert all(b["height"] <= 200 for b in boxes), [b["height"] for b in boxes]
    # the card being read shows its whole text
    page.keyboard.press("j")
    first, second = ids(page)[:2]
    assert page.evaluate("document.activeElement.dataset.id") == str(first)
    full = page.eval_on_selector(f"#post-{first} .content", "e => e.getBoundingClientRect().height")
    clamped = page.eval_on_selector(f"#post-{second} .content", "e => e.getBoundingClientRect().height")
    assert full > clamped
    assert serious_violations(page) == []


def test_totals_and_bulk_over_the_filter_with_a_confirmation(page, site):
    log_in(page, then="/?q=bulkidee")
    assert "0 van 105 beoordeeld onder dit filter" in page.inner_text("#voortgang")
    # nothing ticked: back in the queue, with what is missing
    page.click("#bulk button[value=accept]")
    page.wait_for_selector("text=Kies eerst posts")
    assert page.url.split("?")[0].endswith("/") and "q=bulkidee" in page.url
    page.select_option("#bulk-bereik", "filter")
    page.select_option("#bulk-reden", "spam")
    page.click("#bulk button[value=reject]")
    page.wait_for_selector("h1:has-text('105 posts in één keer afwijzen?')")
    assert serious_violations(page) == []
    with Store(site[1].db_path) as store:
        assert store.db.execute("SELECT count(*) FROM reviews WHERE status = 'afgewezen' AND reject_reason = 'spam'"
                                " AND post_id IN (SELECT id FROM posts WHERE text LIKE 'Bulkidee%')").fetchone()[0] == 0
    page.click("button:has-text('Ja, 105 posts afwijzen')")
    page.wait_for_selector("text=105 posts bijgewerkt")
    assert "105 van 105 beoordeeld" in page.inner_text("#voortgang")
    # a page at once needs no confirmation
    page.goto("/?status=afgewezen&q=bulkidee")
    page.select_option("#bulk-bereik", "pagina")
    page.click("#bulk button[value=reopen]")
    page.wait_for_selector("text=25 posts bijgewerkt")
    assert "80 van 105 beoordeeld" in page.inner_text("#voortgang")


def test_search_on_lemmas_with_or_not_and_a_phrase(page, site):
    log_in(page, then="/?status=alle&q=gemeente")
    assert sorted(ids(page)) == [14, 15, 16]                       # gemeente, gemeenten, gemeentes
    page.fill("#f-q", "gemeente OR provincie")
    page.click("text=Filteren")
    page.wait_for_url("**q=gemeente+OR+provincie**")
    assert sorted(ids(page)) == [14, 15, 16, 17]
    page.goto("/?status=alle&q=proeftuin+-spam")
    assert ids(page) == [17]
    page.goto("/?status=alle&q=%22open+data%22")
    assert ids(page) == [15]
    page.goto("/?status=alle&q=gemeente*+proeftuin")
    assert ids(page) == [18]
    page.goto("/?status=alle&q=-spam")
    assert "minstens één woord" in page.inner_text(".problem") and ids(page) == []
    assert page.is_visible("header.top nav")                       # inside the layout
    assert serious_violations(page) == []


def test_back_links_keep_the_filters_and_no_js_lands_on_the_next_post(browser, page, site):
    log_in(page, then="/?status=alle&q=pilots")
    page.click("#post-124 h2 a")
    page.wait_for_url("**/posts/124**")
    page.click("text=← Terug naar de wachtrij")
    page.wait_for_url("**q=pilots**")
    assert ids(page) == [124]
    context = browser.new_context(base_url=site[0].url, java_script_enabled=False)
    try:
        plain = context.new_page()
        log_in(plain, then="/?q=zonderjs")
        assert ids(plain) == [127, 126, 125]   # a search lists the newest first
        plain.click("#post-127 button[value=accept]")
        plain.wait_for_url("**naar=126**")
        assert plain.url.endswith("#post-126") and "q=zonderjs" in plain.url
        assert "Post 127: geaccepteerd. Dit is de volgende post." in plain.inner_text("#post-126 .message")
        assert ids(plain) == [126, 125]
        # a reject without a reason is refused, in the layout, and saves nothing
        plain.click("#post-126 button[value=reject]")
        assert "Kies eerst een reden" in plain.inner_text(".problem")
        assert plain.is_visible("header.top nav") and state(site, 126).version == 0
        # a duplicate needs the original's number: the browser asks for it and sends nothing, while
        # the other buttons of the same form do not need it
        posted = []
        plain.on("request", lambda r: posted.append(r.post_data) if r.method == "POST" else None)
        plain.goto("/posts/125")
        plain.click("#post-125 button[value=duplicate]")
        assert plain.eval_on_selector("#dup-125", "el => el.validity.valueMissing")
        plain.fill("#notitie-125", "zonder nummer")
        plain.click("#post-125 button[value=note]")
        plain.wait_for_url("**actie=note**")
        assert [("action=duplicate" in p, "action=note" in p) for p in posted] == [(False, True)]
        assert state(site, 125).note == "zonder nummer"
        plain.fill("#dup-125", "1")
        plain.click("#post-125 button[value=duplicate]")
        plain.wait_for_url("**actie=duplicate**")
        assert (state(site, 125).status, state(site, 125).duplicate_of) == ("duplicaat", 1)
    finally:
        context.close()


def test_the_readers_view(page, site):
    log_in(page, "lex", then="/?status=alle&q=gemeente")
    hint = page.inner_text(".hint:has(kbd)")
    assert "accepteren" not in hint and "afwijzen" not in hint and "j" in hint
    assert page.locator("form.decision").count() == 0 and page.locator("#bulk").count() == 0
    assert "(voorgesteld)" in page.inner_text("#post-14")
    page.keyboard.press("?")
    assert "accepteren" not in page.inner_text("#hulp")
    page.keyboard.press("Escape")
    assert serious_violations(page) == []
    response = page.goto("/accounts")
    assert response.status == 403
    assert "Geweigerd: uw rol (lezer) mag dit niet." in page.inner_text(".problem")
    assert page.is_visible("header.top nav")
    assert serious_violations(page) == []


def test_the_confidence_is_explained(page, site):
    log_in(page, then="/?status=alle&q=gemeente")
    tip = page.locator("#post-14 .tip")
    assert tip.inner_text() == "zekerheid 50%"
    tip.hover()
    shown = page.evaluate("getComputedStyle(document.querySelector('#post-14 .tip'), '::after').content")
    assert "twijfelachtigste thema" in shown
    assert page.get_attribute("#post-14 .tip", "aria-describedby") == "uitleg-zekerheid"
    page.keyboard.press("Escape")
    page.focus("#post-14")
    page.keyboard.press("?")
    assert "Zekerheid: hoe ver het twijfelachtigste thema" in page.inner_text("#hulp")


def test_export_defaults_to_accepted_and_shows_no_shell_command(page, site, monkeypatch):
    monkeypatch.delenv(site[1].privacy.secret_env, raising=False)
    log_in(page, then="/export")
    assert page.is_checked("#e-status-geaccepteerd")
    assert not page.is_checked("#e-status-afgewezen") and not page.is_checked("#e-status-nieuw")
    assert page.is_disabled("#e-pseudo")
    text = page.inner_text("main")
    assert "beheerder" in text and "export " not in text and "python3" not in text
    assert serious_violations(page) == []
    response = page.goto("/export/download?format=csv&status=geaccepteerd&pseudonymize=1")
    assert response.status == 400
    assert "python3" not in page.inner_text("main") and "beheerder" in page.inner_text(".problem")


def test_a_feed_author_is_named_once(page, site):
    with Store(site[1].db_path) as store:
        store.reviews.decide(124, store.users.get("eva"), state(site, 124).version, "accept")
    log_in(page, then="/?status=alle&q=pilots")
    assert page.inner_text("#post-124 .author") == "Door Kees van Dijk"
    response = page.context.request.get("/export/download?format=csv&dialect=rfc4180&status=geaccepteerd&source=blog-kees")
    rows = list(csv.reader(io.StringIO(response.text())))
    assert rows[1][3] == "Kees van Dijk (blog.example.nl)"


def test_the_admins_pages_and_a_post_page_pass_axe(page, site):
    log_in(page, "bea", then="/accounts")
    assert page.is_visible("table") and serious_violations(page) == []
    page.goto("/posts/14?terug=%2F%3Fq%3Dgemeente")
    assert page.get_attribute("text=← Terug naar de wachtrij", "href") == "/?q=gemeente#post-14"
    assert serious_violations(page) == []


def test_bulk_accept_leaves_posts_without_a_suggestion(page, site):
    log_in(page, then="/?q=zonderthema")
    page.select_option("#bulk-bereik", "pagina")
    page.click("#bulk button[value=accept]")
    page.wait_for_selector("text=1 post bijgewerkt")
    assert "1 post zonder voorgesteld thema is overgeslagen" in page.inner_text("main")
    assert state(site, 128).status == "nieuw" and state(site, 129).status == "geaccepteerd"


def test_a_note_that_fits_the_field_is_saved_and_a_text_edited_meanwhile_is_not_decided(browser, page, site):
    note = "\n".join(["Besproken in de werkgroep; zie ook het idee van de provincie over open data."] * 30)[:1990]
    context = browser.new_context(base_url=site[0].url, java_script_enabled=False)
    try:   # without JavaScript the browser sends each line break as CRLF; the field counted it as one
        plain = context.new_page()
        log_in(plain, then="/posts/130")
        plain.fill("#notitie-130", note)
        assert len(plain.input_value("#notitie-130")) == 1990
        plain.click("#post-130 button[value=note]")
        plain.wait_for_url("**actie=note**")
        assert state(site, 130).note == note
    finally:
        context.close()
    # with JavaScript: the author edits post 131 at the source while it is on the editor's screen
    log_in(page, then="/?q=bronwijziging")
    with Store(site[1].db_path) as store:
        edit_at_source(store, 131, 131, "Bronwijziging: koop nu goedkope zonnepanelen in onze webshop #innoverheid")
    page.focus("#post-131")
    page.keyboard.press("a")
    message = page.locator("#post-131 .problem.message")
    assert message.inner_text().startswith("Niet opgeslagen: de tekst van deze post is intussen gewijzigd")
    assert "zonnepanelen" in page.inner_text("#post-131 .content") and state(site, 131).version == 0
    page.keyboard.press("a")   # now she has read the new text
    page.wait_for_selector('#post-131[data-version="1"]')
    assert state(site, 131).status == "geaccepteerd"


def test_bulk_over_the_page_after_a_decision_on_a_card_is_not_a_colleagues(page, site):
    """The page's versions and texts in the bulk form follow a card decided in place: the editor's own
    accept is no change by "iemand anders", nor is a text she has read on the card since it was
    edited at the source, and the page's bulk decision applies to that post too."""
    log_in(page, then="/?q=eigenbesluit")
    with Store(site[1].db_path) as store:
        edit_at_source(store, 133, 133, "Eigenbesluit 133: bewerkt door de auteur #innoverheid")
    page.click("#post-133 button[value=accept]")   # refused: the card shows the new text
    page.wait_for_selector("#post-133 .problem.message")
    assert "bewerkt door de auteur" in page.inner_text("#post-133 .content")
    page.click("#post-133 button[value=accept]")
    page.wait_for_selector("#post-133.status-geaccepteerd")
    page.select_option("#bulk-bereik", "pagina")
    page.select_option("#bulk-reden", "spam")
    page.click("#bulk button[value=reject]")
    page.wait_for_selector("text=3 posts bijgewerkt")
    assert "iemand anders" not in page.inner_text("main")
    assert [state(site, n).status for n in (132, 133, 134)] == ["afgewezen"] * 3
