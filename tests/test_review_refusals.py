"""Decisions the review app refuses or only partly makes (HTTP): each says why in Dutch, keeps what
the editor typed, and never saves a decision for a text or a post the editor did not see."""

from __future__ import annotations

import html
import re

import pytest

from harvester.store import Store

from .test_web_security import own_site
from .test_web_store import delete_at_source, edit_at_source
from .webdata import add_post, add_user, login, write_web_config

FETCH = {"X-Requested-With": "fetch"}


@pytest.fixture
def site(tmp_path):
    """Two editors on an app of their own with posts 1 to 3; yields (client of eva, her csrf, bea's, config)."""
    config = write_web_config(tmp_path)
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        add_user(store, "bea", "redacteur")
        for n in range(1, 4):
            add_post(store, n)
    with own_site(config) as eva, own_site(config) as bea:
        yield eva, login(eva, "eva"), (bea, login(bea, "bea")), config


def form_of(page: str, post_id: int) -> dict[str, str]:
    """The hidden fields of a post's decision form as the page shows them."""
    form = re.search(rf'<form class="decision decide" id="beslis-{post_id}".*?</form>', page, re.S).group(0)
    return {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)}


def note_field(page: str, post_id: int) -> str:
    return html.unescape(re.search(rf'<textarea id="notitie-{post_id}"[^>]*>(.*?)</textarea>', page, re.S).group(1))


def problem(page: str) -> str:
    return html.unescape(re.search(r'class="problem message"[^>]*>(.*?)</p>', page, re.S).group(1))


def state(config, post_id: int):
    with Store(config.db_path) as store:
        return store.reviews.state(post_id)


def seen_before_bea(site, **decision) -> dict[str, str]:
    """Eva's form of post 1 as her page showed it, before bea made `decision` on it."""
    eva, _, (bea, bea_csrf), _ = site
    seen = form_of(eva.get("/posts/1").text, 1)
    assert bea.post("/posts/1/decision", data={**form_of(bea.get("/posts/1").text, 1), "csrf": bea_csrf,
                                               **decision}).status_code == 303
    return seen


@pytest.mark.parametrize("headers", [{}, FETCH], ids=["zonder-js", "met-js"])
def test_a_stale_save_gives_the_typed_note_back_marked_as_not_saved(site, headers):
    eva, csrf, _, config = site
    seen = seen_before_bea(site, action="accept", themes="cultuur")
    typed = "Lijkt op het idee van de gemeente Utrecht;\r\nbespreken in workshop 2."
    response = eva.post("/posts/1/decision", headers=headers,
                        data={**seen, "csrf": csrf, "action": "note", "note": typed, "duplicate_of": "3"})
    assert response.status_code == 409 and "bea heeft deze post intussen gewijzigd" in problem(response.text)
    assert note_field(response.text, 1) == typed.replace("\r\n", "\n")
    assert "(uw tekst, niet opgeslagen)" in response.text
    assert re.search(r'<details class="more" open>', response.text)
    assert 'name="duplicate_of" inputmode="numeric" pattern="[0-9]*" size="8" required value="3"' in response.text
    assert state(config, 1).note is None
    # the page shown after a successful decision has the stored note, and no mark
    page = eva.get("/posts/1").text
    assert note_field(page, 1) == "" and "niet opgeslagen" not in page


@pytest.mark.parametrize("headers", [{}, FETCH], ids=["zonder-js", "met-js"])
def test_a_refused_accept_shows_a_colleagues_note_not_the_untouched_box_as_typed(site, headers):
    eva, csrf, _, _ = site
    seen = seen_before_bea(site, action="note", note="Bea: bespreken in workshop 2")
    # eva never touched the note box: her form sends the empty note her page was shown with
    response = eva.post("/posts/1/decision", headers=headers,
                        data={**seen, "csrf": csrf, "action": "accept", "themes": "cultuur", "note": ""})
    assert response.status_code == 409 and "bea heeft deze post intussen gewijzigd" in problem(response.text)
    assert note_field(response.text, 1) == "Bea: bespreken in workshop 2"
    assert "niet opgeslagen)" not in response.text


def test_a_refused_note_keeps_the_typed_text_and_shows_the_colleagues_stored_note(site):
    eva, csrf, _, config = site
    seen = seen_before_bea(site, action="note", note="Bea: bespreken in workshop 2")
    response = eva.post("/posts/1/decision", data={**seen, "csrf": csrf, "action": "note", "note": "Eva: al gedaan"})
    assert response.status_code == 409
    assert note_field(response.text, 1) == "Eva: al gedaan" and "(uw tekst, niet opgeslagen)" in response.text
    assert "Opgeslagen notitie: Bea: bespreken in workshop 2" in html.unescape(response.text)
    assert state(config, 1).note == "Bea: bespreken in workshop 2"


def test_a_note_that_fits_the_field_is_saved_whatever_the_line_breaks(site):
    eva, csrf, _, config = site
    note = "\n".join(["Besproken in de werkgroep; zie ook het idee van de provincie over open data."] * 30)[:1990]
    seen = form_of(eva.get("/posts/2").text, 2)
    response = eva.post("/posts/2/decision", data={**seen, "csrf": csrf, "action": "note",
                                                   "note": note.replace("\n", "\r\n")})  # as a browser sends it
    assert response.status_code == 303
    assert state(config, 2).note == note
    # one too many is refused, and the text stays in the field
    seen = form_of(eva.get("/posts/2").text, 2)
    longer = note + "\r\n" + "x" * 10
    response = eva.post("/posts/2/decision", data={**seen, "csrf": csrf, "action": "note", "note": longer})
    assert response.status_code == 400 and "hoogstens 2000 tekens" in problem(response.text)
    assert note_field(response.text, 2) == longer.replace("\r\n", "\n")
    assert state(config, 2).note == note


def test_undo_after_the_original_of_a_duplicate_was_deleted_says_why(site):
    eva, csrf, _, config = site

    def decide(post_id, **data):
        return eva.post(f"/posts/{post_id}/decision",
                        data={**form_of(eva.get(f"/posts/{post_id}").text, post_id), "csrf": csrf, **data})

    assert decide(2, action="duplicate", duplicate_of="1").status_code == 303
    assert decide(2, action="reopen").status_code == 303
    with Store(config.db_path) as store:
        delete_at_source(store, 1)
    response = decide(2, action="undo")
    assert response.status_code == 400
    assert problem(response.text) == ("Niet opgeslagen: post 1 bestaat niet meer, dus deze post kan niet weer een"
                                      " duplicaat ervan worden.")
    assert (state(config, 2).status, state(config, 2).version) == ("nieuw", 2)


def test_a_bulk_decision_skips_a_post_deleted_meanwhile_and_says_so(site):
    eva, csrf, _, config = site
    queue = eva.get("/?status=nieuw&sort=date").text
    ticked = re.findall(r'name="select" value="(\d+:\d+)"', queue)
    changed = re.findall(r'name="changed_at" value="(\d+:[^"]+)"', queue)
    assert len(ticked) == len(changed) == 3
    with Store(config.db_path) as store:
        delete_at_source(store, 2)
    response = eva.post("/bulk", data={"csrf": csrf, "next": "/", "bereik": "gekozen", "action": "reject",
                                       "reason": "spam", "select": ticked, "changed_at": changed})
    assert response.status_code == 303 and "weg=1" in response.headers["location"]
    assert [state(config, p).status for p in (1, 3)] == ["afgewezen", "afgewezen"]
    page = eva.get(response.headers["location"]).text
    assert "2 posts bijgewerkt." in page
    assert "1 post bestaat niet meer (intussen verwijderd, bijvoorbeeld door de auteur) en is overgeslagen." in page


def test_a_decision_on_a_text_edited_at_the_source_since_the_page_was_shown_is_stale(site):
    eva, csrf, _, config = site
    seen = form_of(eva.get("/posts/1").text, 1)
    queue = eva.get("/?status=nieuw&sort=date").text
    with Store(config.db_path) as store:
        edit_at_source(store, 1, 1, "Koop nu goedkope zonnepanelen via onze webshop! #innoverheid")
    for headers in ({}, FETCH):
        response = eva.post("/posts/1/decision", headers=headers,
                            data={**seen, "csrf": csrf, "action": "accept", "themes": "cultuur", "keuze": "1"})
        assert response.status_code == 409
        assert problem(response.text).startswith("Niet opgeslagen: de tekst van deze post is intussen gewijzigd")
        assert "zonnepanelen" in response.text and form_of(response.text, 1)["changed_at"] != seen["changed_at"]
    assert state(config, 1).version == 0
    # the whole page in bulk: the edited post is skipped as stale, the others are decided
    pages = re.findall(r'name="pagina" value="(\d+:\d+)"', queue)
    changed = re.findall(r'name="changed_at" value="(\d+:[^"]+)"', queue)
    response = eva.post("/bulk", data={"csrf": csrf, "next": "/", "bereik": "pagina", "action": "reject",
                                       "reason": "spam", "pagina": pages, "changed_at": changed})
    assert "done=2&stale=1" in response.headers["location"]
    assert [state(config, p).status for p in (1, 2, 3)] == ["nieuw", "afgewezen", "afgewezen"]
    # the form the refusal showed names the new text: deciding on it works
    response = eva.post("/posts/1/decision", data={**form_of(eva.get("/posts/1").text, 1), "csrf": csrf,
                                                   "action": "reject", "reason": "spam"})
    assert response.status_code == 303 and state(config, 1).status == "afgewezen"


def test_a_javascript_decision_on_a_deleted_post_gets_a_short_message(site):
    eva, csrf, _, config = site
    seen = form_of(eva.get("/posts/3").text, 3)
    with Store(config.db_path) as store:
        delete_at_source(store, 3)
    response = eva.post("/posts/3/decision", headers=FETCH, data={**seen, "csrf": csrf, "action": "accept"})
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/plain")
    assert response.text == "Niet opgeslagen: Post 3 bestaat niet (meer)."
    response = eva.post("/posts/3/decision", data={**seen, "csrf": csrf, "action": "accept"})
    assert response.status_code == 404 and "Post 3 bestaat niet (meer)." in response.text


@pytest.mark.parametrize("headers", [{}, FETCH], ids=["zonder-js", "met-js"])
def test_the_same_form_sent_again_says_it_was_the_editor_herself(site, headers):
    """Back to a page with an old form (the back button, a second window) and deciding again: the
    refusal says the editor changed the post herself, not as if a colleague named like her had."""
    eva, csrf, _, config = site
    seen = form_of(eva.get("/posts/1").text, 1)
    assert eva.post("/posts/1/decision", data={**seen, "csrf": csrf, "action": "accept", "themes": "cultuur"}
                    ).status_code == 303
    response = eva.post("/posts/1/decision", headers=headers,
                        data={**seen, "csrf": csrf, "action": "reject", "reason": "spam"})
    assert response.status_code == 409
    assert problem(response.text).startswith("Niet opgeslagen: u heeft deze post zelf intussen gewijzigd (nu: geaccepteerd)")
    assert state(config, 1).status == "geaccepteerd"
