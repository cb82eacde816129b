"""The "Initiatieven" pages over real HTTP: the list, an initiative's page, the network SVG and its
table, candidates confirmed and dismissed by a redacteur, a lezer who may look but not decide, and
harvested text escaped everywhere."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import httpx
import pytest

from harvester.initiatives import step
from harvester.store import Store
from harvester.web import ServerThread

from .initiativesdata import store_all, store_mentions_of_pieter, store_post
from .webdata import add_user, csrf_of, login, write_web_config

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def site(tmp_path):
    config = write_web_config(tmp_path)
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        add_user(store, "lex", "lezer")
        store_all(store)
        # a name with markup in it, used by two authors: a candidate whose label must stay text
        for n, author in ((20, "a@mastodon.nl"), (21, "b@mastodon.nl")):
            store_post(store, n, author, f"<p>Bij de Slimmernetwerk borrel &lt;script&gt;alert(1)&lt;/script&gt; "
                                         f"en de Ynnovate Challenge. #{'Xss'}Test</p>")
        step.update(store, config)
    server = ServerThread(config).start()
    yield server, config
    server.stop()


def client(server, name: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=server.url, timeout=10)
    return c, login(c, name)


def test_the_list_and_the_network(site):
    server, _ = site
    c, _ = client(server, "lex")
    page = c.get("/initiatieven")
    assert page.status_code == 200
    html = page.text
    row = re.search(r'<a href="/initiatieven/ynnovate">Ynnovate</a></th>\s*<td class="num">(\d+)</td>'
                    r'<td class="num">(\d+)</td>', html)
    assert row and row.groups() == ("4", "3")   # posts 1 and 2 by one author, two more by two others
    assert "Nog in geen enkele post genoemd" in html and "Serious Ambtenaar" in html
    svg = re.search(r"<svg role=\"img\".*?</svg>", html, re.S).group()
    tree = ET.fromstring(svg.replace('xmlns="http://www.w3.org/2000/svg"', ""))
    labels = [t.text for t in tree.iter("text")]
    assert "Ynnovate" in labels and "Slimmernetwerk" in labels
    assert len(list(tree.iter("circle"))) == len(labels) and len(list(tree.iter("line"))) > 0
    # the table beside it holds the same edges
    table = re.search(r'<caption id="verbindingen">.*?</table>', html, re.S).group()
    assert re.search(r"<th scope=\"row\">Slimmernetwerk</th><td>Ynnovate</td><td class=\"num\">\d+</td>", table)
    assert table.count("<tr>") - 1 == len(list(tree.iter("line")))
    # the same data gives the same picture
    assert re.search(r"<svg role=\"img\".*?</svg>", c.get("/initiatieven").text, re.S).group() == svg


def test_an_initiatives_page(site):
    server, config = site
    c, _ = client(server, "lex")
    page = c.get("/initiatieven/ynnovate")
    assert page.status_code == 200
    assert "<h1>Ynnovate</h1>" in page.text
    assert page.text.count('<a href="/posts/') == 4
    assert "herkend aan naam ‘Ynnovators’" in page.text
    assert '<a href="/initiatieven/slimmernetwerk">Slimmernetwerk</a>' in page.text
    assert c.get("/initiatieven/bestaat-niet").status_code == 404
    # a cursor as the page writes it ('published|post id') pages on past that post
    with Store(config.db_path) as store:
        second = store.initiatives.posts_of("Ynnovate", limit=2)[1]
    older = c.get("/initiatieven/ynnovate", params={"voor": f"{second.published}|{second.post_id}"})
    assert older.status_code == 200 and older.text.count('<a href="/posts/') == 2


def test_harvested_text_is_escaped(site):
    server, _ = site
    c, _ = client(server, "eva")
    for url in ("/initiatieven", "/initiatieven/ynnovate", "/initiatieven/kandidaten"):
        html = c.get(url).text
        assert HOSTILE not in html, url
    assert "&lt;script&gt;" in c.get("/initiatieven/ynnovate").text


def test_a_redacteur_confirms_and_dismisses(site):
    server, config = site
    c, csrf = client(server, "eva")
    page = c.get("/initiatieven/kandidaten")
    assert "#grandparade" in page.text and "Nieuw initiatief" in page.text
    form = {"csrf": csrf, "kind": "hashtag", "term": "grandparade", "action": "confirm", "name": "Grand Parade"}
    done = c.post("/initiatieven/kandidaten", data=form, follow_redirects=True)
    assert done.status_code == 200
    assert "#grandparade: bevestigd als nieuw initiatief Grand Parade." in done.text
    alias = {"csrf": csrf, "kind": "domein", "term": "grandparade.example", "action": "alias",
             "initiative": "Grand Parade"}
    assert "toegevoegd aan Grand Parade" in c.post("/initiatieven/kandidaten", data=alias, follow_redirects=True).text
    dismiss = {"csrf": csrf, "kind": "naam", "term": "grandparade", "action": "dismiss"}
    after = c.post("/initiatieven/kandidaten", data=dismiss, follow_redirects=True).text
    assert "Grand Parade: afgewezen." in after
    assert '<input type="hidden" name="term" value="grandparade">' not in after.split('id="besluiten"')[0]
    # deciding again on a decided candidate
    again = c.post("/initiatieven/kandidaten", data=dismiss)
    assert again.status_code == 409 and "intussen al beslist" in again.text
    # a name that is already an initiative is refused with a way out
    taken = c.post("/initiatieven/kandidaten", data={**form, "term": "xsstest", "name": "ynnovate"})
    assert taken.status_code == 400 and "Ynnovate staat al in de lijst" in taken.text
    # the next matching run puts the posts under the new initiative
    with Store(config.db_path) as store:
        assert step.update(store, config).rematched
    page = c.get("/initiatieven/grand-parade")
    assert page.status_code == 200 and page.text.count('<a href="/posts/') == 4
    # a mistake is taken back: the candidate comes back, the audit trail keeps both
    undo = {"csrf": csrf, "kind": "domein", "term": "grandparade.example", "action": "undo"}
    back = c.post("/initiatieven/kandidaten", data=undo, follow_redirects=True).text
    assert "Het besluit is ongedaan gemaakt" in back
    assert c.post("/initiatieven/kandidaten", data=undo).status_code == 404
    with Store(config.db_path) as store:
        assert step.update(store, config).rematched
    again = c.get("/initiatieven/kandidaten").text.split('id="besluiten"')[0]
    assert '<input type="hidden" name="term" value="grandparade.example">' in again
    with Store(config.db_path) as store:
        actions = [r[0] for r in store.db.execute("SELECT action FROM review_events WHERE post_id IS NULL ORDER BY id")]
    assert actions == ["initiative_bevestigd", "initiative_alias", "initiative_afgewezen", "initiative_undo"]


def test_a_link_cannot_put_its_own_words_in_a_decisions_message(site):
    """The message after a decision is made from the stored decision the address names: words in a link
    someone sent, or a decision that was never taken, give no message."""
    server, _ = site
    c, csrf = client(server, "eva")
    dismiss = {"csrf": csrf, "kind": "naam", "term": "grandparade", "action": "dismiss"}
    assert "Grand Parade: afgewezen." in c.post("/initiatieven/kandidaten", data=dismiss, follow_redirects=True).text
    page = "/initiatieven/kandidaten"
    made_up = [
        {"besluit": "afgewezen", "label": "Uw sessie is verlopen, log in op evil.example", "soort": "naam", "term": "evil"},
        {"besluit": "bevestigd", "soort": "naam", "term": "grandparade", "initiatief": "evil.example"},
        {"besluit": "undo", "soort": "naam", "term": "grandparade", "label": "evil.example"},
    ]
    for params in made_up:
        html = c.get(page, params=params).text.split('id="besluiten"')[0]
        assert "evil" not in html and 'role="status"' not in html, params
    assert "Grand Parade: afgewezen." in c.get(page, params={"besluit": "afgewezen", "soort": "naam",
                                                             "term": "grandparade"}).text


def test_an_account_is_not_filled_in_as_the_name_of_a_new_initiative(site):
    """A mentioned account may be a person: editors type the initiative's name rather than keep theirs."""
    server, config = site
    with Store(config.db_path) as store:
        store_mentions_of_pieter(store, "het charter", first=30)
        step.update(store, config)
    c, _ = client(server, "eva")
    page = c.get("/initiatieven/kandidaten").text
    name_field = r'value="{}">\s*<input type="hidden" name="action" value="confirm">\s*<label for="naam-\d+">[^<]*<input [^>]*'
    assert 'name="name" value=""' in re.search(name_field.format("pieter@mastodon.nl"), page).group()
    assert 'name="name" value="grandparade"' in re.search(name_field.format("grandparade"), page).group()


def test_a_new_initiative_is_no_alias_and_a_gone_one_stays_gone(site):
    server, config = site
    c, csrf = client(server, "eva")
    # an alias of a known initiative is no new initiative
    form = {"csrf": csrf, "kind": "hashtag", "term": "xsstest", "action": "confirm", "name": "beter  werken"}
    taken = c.post("/initiatieven/kandidaten", data=form)
    assert taken.status_code == 400
    assert "Beter Werken in het Openbaar Bestuur staat al in de lijst (als beter werken)" in taken.text
    # an addition to a confirmation taken back waits, and the page says so
    confirm = {"csrf": csrf, "kind": "hashtag", "term": "grandparade", "action": "confirm", "name": "Grand Parade"}
    alias = {"csrf": csrf, "kind": "domein", "term": "grandparade.example", "action": "alias", "initiative": "Grand Parade"}
    for form in (confirm, alias, {**confirm, "action": "undo"}):
        assert c.post("/initiatieven/kandidaten", data=form, follow_redirects=True).status_code == 200
    with Store(config.db_path) as store:
        step.update(store, config)
    assert c.get("/initiatieven/grand-parade").status_code == 404
    decisions = c.get("/initiatieven/kandidaten").text.split('id="besluiten"')[1]
    assert "Niet toegepast: Grand Parade staat niet (meer) in de lijst." in decisions


def test_a_lezer_looks_but_cannot_decide(site):
    server, _ = site
    c, csrf = client(server, "lex")
    page = c.get("/initiatieven/kandidaten")
    assert page.status_code == 200 and "#grandparade" in page.text
    assert "Nieuw initiatief" not in page.text and "alleen redacteuren" in page.text
    refused = c.post("/initiatieven/kandidaten",
                     data={"csrf": csrf, "kind": "hashtag", "term": "grandparade", "action": "dismiss"})
    assert refused.status_code == 403


def test_a_decision_needs_the_csrf_token_and_a_login(site):
    server, _ = site
    c, _ = client(server, "eva")
    csrf = csrf_of(c.get("/initiatieven/kandidaten").text)
    assert c.post("/initiatieven/kandidaten", data={"csrf": csrf + "x", "kind": "hashtag", "term": "grandparade",
                                                     "action": "dismiss"}).status_code == 403
    anonymous = httpx.Client(base_url=server.url, timeout=10)
    assert anonymous.get("/initiatieven", follow_redirects=False).status_code == 303


def test_dates_in_dutch_time_and_an_initiative_called_kandidaten(tmp_path):
    from harvester.config import load_config

    config = write_web_config(tmp_path)
    (tmp_path / "initiatives.toml").write_text('[[initiatives]]\nname = "Ynnovate"\n[[initiatives]]\nname = "Kandidaten"\n',
                                               encoding="utf-8")
    with config.path.open("a", encoding="utf-8") as f:
        f.write(f'[initiatives]\nfile = "{tmp_path / "initiatives.toml"}"\n')
    config = load_config(config.path)
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        # 23:30 UTC on 30 November is half past midnight on 1 December in the Netherlands
        store_post(store, 1, "anna@mastodon.nl", "<p>Naar Ynnovate en de Kandidaten #innoverheid</p>",
                   published_at="2026-11-30T23:30:00+00:00")
        step.update(store, config)
    server = ServerThread(config).start()
    try:
        c, _ = client(server, "eva")
        overview = c.get("/initiatieven").text
        row = re.search(r'Ynnovate</a></th>.*?</tr>', overview, re.S).group()
        assert re.findall(r"<td>([^<]*)</td>", row)[-2:] == ["01-12-2026", "01-12-2026"]
        page = c.get("/initiatieven/ynnovate").text
        assert "01-12-2026 tot en met 01-12-2026" in page and "anna · 01-12-2026 ·" in page
        assert "30-11-2026" not in page + overview
        # the initiative and the candidates page each have an address of their own
        assert '<a href="/initiatieven/kandidaten-2">Kandidaten</a>' in overview
        assert '<a href="/initiatieven/kandidaten-2">Kandidaten</a>' in page
        own = c.get("/initiatieven/kandidaten-2")
        assert own.status_code == 200 and "<h1>Kandidaten</h1>" in own.text
        assert "Bevestig een kandidaat" in c.get("/initiatieven/kandidaten").text
    finally:
        server.stop()
