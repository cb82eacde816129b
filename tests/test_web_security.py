"""Security of the review app, over real HTTP against uvicorn on 127.0.0.1.

Sessions on every route, CSRF on every change, roles, cookie flags, the login slow-down, and
hostile HTML from the feedparser corpus rendered inert.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import feedparser
import httpx
import pytest
from starlette.routing import Route

from harvester.models import Author, Post
from harvester.store import Store
from harvester.web import ServerThread, create_app

from .conftest import SHARED
from .webdata import PASSWORD, add_post, add_user, csrf_of, login, write_web_config

SANITIZE = SHARED / "corpora" / "feedparser-tests" / "wellformed" / "sanitize"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A running app with a beheerder, a redacteur and a lezer, and a few posts."""
    directory = tmp_path_factory.mktemp("web")
    config = write_web_config(directory)
    with Store(config.db_path) as store:
        for name, role in (("bea", "beheerder"), ("eva", "redacteur"), ("lex", "lezer")):
            add_user(store, name, role)
        for n in range(3):
            add_post(store, n)
    server = ServerThread(config).start()
    yield server, config
    server.stop()


@pytest.fixture
def db(site):
    with Store(site[1].db_path) as store:
        yield store


def client(site) -> httpx.Client:
    return httpx.Client(base_url=site[0].url, follow_redirects=False, timeout=10)


@contextlib.contextmanager
def own_site(config) -> Iterator[httpx.Client]:
    """A client of an app of its own, for a test that needs another config or data than `site`."""
    server = ServerThread(config).start()
    try:
        with client((server, config)) as c:
            yield c
    finally:
        server.stop()


def app_routes(config) -> list[tuple[str, str]]:
    """(method, path) of every route, path parameters filled in."""
    found = []
    for route in create_app(config).routes:
        if isinstance(route, Route):
            path = route.path.replace("{post_id:int}", "1").replace("{group_id:int}", "1").replace("{name}", "lex")
            found += [(m, path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


def test_every_route_but_login_and_static_needs_a_session(site):
    routes = app_routes(site[1])
    assert ("POST", "/posts/1/decision") in routes and ("GET", "/overzicht") in routes
    with client(site) as c:
        for method, path in routes:
            if path == "/login":
                continue
            response = c.request(method, path, data={"csrf": "x"})
            if method == "GET":
                assert response.status_code == 303, (method, path)
                assert response.headers["location"].startswith("/login?next="), path
            else:
                assert response.status_code == 401, (method, path)
        assert c.get("/login").status_code == 200
        assert c.get("/static/app.css").status_code == 200
        # a made-up cookie is no session either
        c.cookies.set("harvester_session", "made-up")
        assert c.get("/").status_code == 303


def test_changes_without_the_right_csrf_token_get_403_and_change_nothing(site, db):
    state_changing = [(m, p) for m, p in app_routes(site[1]) if m == "POST" and p not in ("/login",)]
    assert len(state_changing) >= 5
    with client(site) as c:
        login(c, "bea")
        for method, path in state_changing:
            form = {"action": "accept", "version": "0", "select": "1:0", "name": "x", "role": "lezer",
                    "password": PASSWORD}
            assert c.request(method, path, data=form).status_code == 403, path
            assert c.request(method, path, data={**form, "csrf": "wrong"}).status_code == 403, path
            assert c.request(method, path, data=form, headers={"X-CSRF-Token": "wrong"}).status_code == 403, path
        assert c.get("/").status_code == 200  # still logged in: logout was refused too
    assert db.db.execute("SELECT count(*) FROM review_events").fetchone()[0] == 0
    assert db.users.get("x") is None and db.users.get("lex").role == "lezer"


def test_login_itself_needs_the_login_form_token(site):
    with client(site) as c:
        response = c.post("/login", data={"name": "eva", "password": PASSWORD})
        assert response.status_code == 403
        assert "harvester_session" not in response.headers.get("set-cookie", "")


# places a "go back to" parameter must never lead to: browsers drop tabs and newlines from a link
# and read a backslash as a slash, so each of these ends up on another host
OFFSITE = ["//evil.example/x", "/\\evil.example/x", "/\t/evil.example/x", "/\n/evil.example/x",
           "/\r/evil.example/x", "/\x00/evil.example/x", "/\u3000/evil.example/x", "https://evil.example/x",
           "javascript:alert(1)", " /evil.example/x"]


def test_a_failed_login_keeps_where_the_user_was_going(site):
    """A mistyped password shows the form again; logging in then still leads to the page asked for."""
    from html import unescape

    with client(site) as c:
        token = csrf_of(c.get("/login", params={"next": "/posts/2?terug=/?q=open+data"}).text)
        again = c.post("/login", data={"csrf": token, "name": "lex", "password": "fout-wachtwoord",
                                       "next": "/posts/2?terug=/?q=open+data"})
        assert again.status_code == 401
        kept = unescape(re.search(r'name="next" value="([^"]*)"', again.text).group(1))
        assert kept == "/posts/2?terug=/?q=open+data"
        response = c.post("/login", data={"csrf": token, "name": "lex", "password": PASSWORD, "next": kept})
        assert response.headers["location"] == "/posts/2?terug=/?q=open+data"


def test_go_back_parameters_stay_on_this_site(site):
    from html import unescape

    for target in OFFSITE:
        with client(site) as c:
            form = c.get("/login", params={"next": target}).text
            assert '<input type="hidden" name="next" value="/">' in form, target
            token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            response = c.post("/login", data={"csrf": token, "name": "lex", "password": PASSWORD, "next": target})
            assert response.headers["location"] == "/", target
            assert c.get("/login", params={"next": target}).headers["location"] == "/", target
            back = re.search(r'<a href="([^"]*)">← Terug', c.get("/posts/1", params={"terug": target}).text)
            assert unescape(back.group(1)) == "/#post-1", target
    with client(site) as c:
        login(c, "lex")
        # a path on this site, with its query, is kept
        back = re.search(r'<a href="([^"]*)">← Terug', c.get("/posts/1", params={"terug": "/?q=open+data"}).text)
        assert unescape(back.group(1)) == "/?q=open+data#post-1"


def test_the_queues_partials_of_a_post_gone_are_a_short_text(site):
    """The queue loads a card's candidates and related ideas into the card (app.js, related.js put the
    answer in as it is): for a post deleted meanwhile that is a short message, never a whole page."""
    with client(site) as c:
        login(c, "lex")
        for part in ("candidates", "verwant"):
            response = c.get(f"/posts/999999/{part}", headers={"X-Requested-With": "fetch"})
            assert response.status_code == 404, part
            assert response.headers["content-type"].startswith("text/plain"), part
            assert "bestaat niet (meer)" in response.text, part


def test_a_link_cannot_put_its_own_words_in_the_grouping_message(site):
    """The message after grouping takes the group's number from the address: anything but a number,
    from a link someone sent, is no message at all."""
    with client(site) as c:
        login(c, "lex")
        for path in ("/", "/posts/1"):
            made_up = c.get(path, params={"groep": "7). Uw sessie is verlopen: log opnieuw in op evil.example (",
                                          "ontgroepeerd": "bel 0612345678"}).text
            assert "evil.example" not in made_up and "0612345678" not in made_up, path
            real = c.get(path, params={"groep": "7", "ontgroepeerd": "8"}).text
            assert "nu één idee (groep 7)" in real and "Groep 8 is gewijzigd" in real, path


def test_a_lezer_reads_but_cannot_change_anything(site, db):
    with client(site) as c:
        csrf = login(c, "lex")
        assert c.get("/").status_code == 200
        assert c.get("/posts/1").status_code == 200
        overview = c.get("/overzicht")
        assert overview.status_code == 200
        assert "Nog te beoordelen" in overview.text
        assert 'value="accept"' not in c.get("/").text  # no decision buttons shown
        assert c.get("/accounts").status_code == 403
        for path, form in [
            ("/posts/1/decision", {"action": "accept", "version": "0"}),
            ("/posts/1/decision", {"action": "note", "version": "0", "note": "x"}),
            ("/bulk", {"action": "accept", "select": "1:0"}),
            ("/accounts", {"name": "mallory", "role": "beheerder", "password": PASSWORD}),
            ("/accounts/eva", {"action": "disable"}),
        ]:
            assert c.post(path, data={**form, "csrf": csrf}).status_code == 403, path
    assert db.db.execute("SELECT count(*) FROM review_events").fetchone()[0] == 0
    assert db.users.get("mallory") is None and db.users.get("eva").active


def test_a_redacteur_decides_and_a_stale_version_is_reported(site, db):
    with client(site) as c:
        csrf = login(c, "eva")
        assert c.get("/accounts").status_code == 403
        response = c.post("/posts/2/decision", data={"csrf": csrf, "version": "0", "action": "reject",
                                                      "reason": "spam", "next": "/?status=alle"})
        assert response.status_code == 303 and response.headers["location"] == "/?status=alle&besloten=2&actie=reject&naar=2#post-2"
        stale = c.post("/posts/2/decision", data={"csrf": csrf, "version": "0", "action": "accept"},
                       headers={"X-Requested-With": "fetch"})
        assert stale.status_code == 409
        assert "intussen gewijzigd" in stale.text and "Afgewezen" in stale.text
        assert 'data-version="1"' in stale.text
    assert db.reviews.state(2).status == "afgewezen"
    db.reviews.decide(2, db.users.get("eva"), 1, "undo")


def test_session_cookie_flags_logout_and_disabling(site, db):
    with client(site) as c:
        page = c.get("/login")
        response = c.post("/login", data={"csrf": csrf_of(page.text), "name": "eva", "password": PASSWORD})
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
        token = c.cookies["harvester_session"]
        assert db.db.execute("SELECT count(*) FROM sessions WHERE token_hash = ?", [token]).fetchone()[0] == 0
        csrf = csrf_of(c.get("/").text)
        assert c.post("/logout", data={"csrf": csrf}).status_code == 303
        c.cookies.set("harvester_session", token)
        assert c.get("/").status_code == 303  # the old cookie is dead on the server
    with client(site) as c:
        login(c, "lex")
        db.users.set_disabled("lex", True)
        assert c.get("/").status_code == 303
        db.users.set_disabled("lex", False)


def test_secure_cookie_behind_https(tmp_path):
    """Behind a TLS proxy (`https = true`) the session cookie is Secure; the proxy's hop is plain HTTP."""
    config = write_web_config(tmp_path, https=True)
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
    with own_site(config) as c:
        page = c.get("/login")
        assert "Secure" in page.headers["set-cookie"]
        # a browser sends Secure cookies over the proxy's TLS; httpx here talks plain HTTP
        cookie = "; ".join(f"{name}={value}" for name, value in page.cookies.items())
        response = c.post("/login", data={"csrf": csrf_of(page.text), "name": "eva", "password": PASSWORD},
                          headers={"cookie": cookie})
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_repeated_failed_logins_slow_down(site, db):
    with client(site) as c:
        token = csrf_of(c.get("/login").text)
        for _ in range(5):
            response = c.post("/login", data={"csrf": token, "name": "Eva", "password": "fout-wachtwoord"})
            assert response.status_code == 401
            assert "Naam of wachtwoord klopt niet" in response.text
        # even the right password must wait now
        response = c.post("/login", data={"csrf": token, "name": "eva", "password": PASSWORD})
        assert response.status_code == 429
        assert "Probeer het over" in response.text
        # slowed, not locked out: a minute later the owner gets in
        throttle = site[0].app.state.login_throttle
        later = datetime.now(UTC) + timedelta(seconds=61)
        throttle.clock = lambda: later
        try:
            response = c.post("/login", data={"csrf": token, "name": "eva", "password": PASSWORD})
        finally:
            del throttle.clock   # back to the class's real clock
        assert response.status_code == 303


def test_overview_lists_each_theme_once_with_model_and_editor_counts(tmp_path):
    config = write_web_config(tmp_path)
    with Store(config.db_path) as store:
        editor = add_user(store, "eva", "redacteur")
        posts = [add_post(store, n, scores={"cultuur": 0.9}) for n in range(3)]
        store.reviews.decide(posts[0], editor, 0, "set_themes", themes=["cultuur", "structuur"])
    with own_site(config) as c:
        login(c, "eva")
        page = c.get("/overzicht").text
    rows = re.findall(r'<th scope="row"><a href="/\?status=alle&amp;theme=(\w+)&amp;sort=date">[^<]*</a></th>'
                      r'<td class="num">(\d+)</td><td class="num">(\d+)</td>', page)
    assert len(rows) == 8 and len({theme for theme, *_ in rows}) == 8
    counts = {theme: (int(a), int(b)) for theme, a, b in rows}
    assert counts["cultuur"] == (3, 1) and counts["structuur"] == (0, 1)
    assert page.count('class="multiple"') == 8   # one small chart per theme
    # the running week's bar in each is hatched with a pattern the page defines
    hatched = re.findall(r'<rect class="open-week"[^>]* fill="url\(#([^)]+)\)"', page)
    patterns = re.findall(r'<pattern id="([^"]+)"', page)
    assert len(hatched) == 8 and sorted(hatched) == sorted(patterns)


def test_security_headers(site):
    with client(site) as c:
        response = c.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"


class TagAudit(HTMLParser):
    """Collects everything in a page that could run code, style, or load something remote."""

    DANGEROUS_TAGS = {"script", "style", "iframe", "frame", "object", "embed", "img", "image", "video", "audio",
                      "source", "base", "meta", "link", "svg", "math", "applet", "form", "input", "button",
                      "textarea", "select"}

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        if self.depth == 0:
            if tag == "div" and ("class", "content") in attrs:
                self.depth = 1
            return
        self.depth += tag not in {"br", "hr"}
        if tag in self.DANGEROUS_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") or name in ("style", "src", "srcset", "background", "formaction", "action"):
                self.problems.append(f"{tag} {name}={value[:40]}")
            if name == "href" and not value.startswith(("http://", "https://", "mailto:")):
                self.problems.append(f"href={value[:40]}")
            if tag == "a" and name == "rel" and value != "nofollow noopener":
                self.problems.append(f"rel={value}")

    def handle_endtag(self, tag):
        if self.depth and tag not in {"br", "hr"}:
            self.depth -= 1


def test_hostile_html_from_the_feedparser_corpus_renders_inert(tmp_path):
    files = sorted(SANITIZE.glob("*.xml"))
    if not files and os.environ.get("CI") != "true":
        pytest.skip("../shared/corpora/feedparser-tests is not there")
    assert len(files) > 700
    config = write_web_config(tmp_path)
    stored = 0
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        source = store.sources.sync("vijandig", "feed", "https://example.org/feed")
        with store.atomic():
            for path in files:
                # feedparser's own sanitising off: our sanitiser must stand on its own
                parsed = feedparser.parse(path.read_bytes(), sanitize_html=False)
                for i, entry in enumerate(parsed.entries or [parsed.feed]):
                    bodies = [c.get("value", "") for c in entry.get("content", [])]
                    bodies += [entry.get(k, "") for k in ("summary", "subtitle", "rights")]
                    html = " ".join(b for b in bodies if b) or entry.get("title", "")
                    if not html:
                        continue
                    store.posts.upsert(Post(
                        key=f"{path.name}#{i}", kind="feed", content_html=html, text=entry.get("title", ""),
                        title=entry.get("title"), url="javascript:alert(1)" if i == 0 else entry.get("link"),
                        author=Author(f"<script>alert({i})</script>", display_name='"><img src=x onerror=alert(1)>'),
                        published_at="2026-01-01T00:00:00+00:00",
                    ), source.id)
                    stored += 1
    assert stored > 600
    with own_site(config) as c:
        login(c, "eva")
        # every post, classified or not (while the model is young the default shows classified ones only)
        url, pages, seen = "/?status=alle&sort=date", 0, 0
        while url:
            page = c.get(url).text
            pages += 1
            audit = TagAudit()
            audit.feed(page)
            audit.close()
            assert audit.problems == [], (url, audit.problems[:10])
            # only our own scripts: the app's and the related-ideas loader of the queue
            assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/app.js" defer>',
                                                          '<script src="/static/related.js" defer>']
            # as escaped text (a title quoting code) it is inert; inside a tag it must not be
            assert not re.search(r"<[^>]*(javascript|vbscript|data):", page, re.I)
            assert not re.search(r"<[^>]*\son\w+\s*=", page)
            assert not re.search(r"<[^>]*\sstyle\s*=", page, re.I)
            seen += len(re.findall(r'<div class="content"[ >]', page))
            found = re.search(r'href="(/\?[^"]*after=[^"]*)" rel="next"', page)
            url = found.group(1).replace("&amp;", "&") if found else None
        assert seen == stored
        assert pages > 25
