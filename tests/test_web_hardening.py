"""Issue 16, over real HTTP against uvicorn on 127.0.0.1: parameters that used to be 500s, bodies
capped before they are stored, duplicate cycles, names that spoof the page, sessions and names.

The login throttle has its own file (test_web_login.py).
"""

from __future__ import annotations


import httpx
import pytest

from harvester.store import Store
from harvester.web import ServerThread

from .webdata import login, start_site, write_web_config

SECURITY = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    server, config = start_site(tmp_path_factory.mktemp("hardening"), {"eva": "redacteur", "bea": "beheerder"}, 10)
    yield server, config
    server.stop()


def client(site) -> httpx.Client:
    return httpx.Client(base_url=site[0].url, follow_redirects=False, timeout=30)


def assert_headers(response: httpx.Response) -> None:
    for name in SECURITY:
        assert name in response.headers, (response.request.url, name)


# parameters that were 500s (or, for an initiative's page cursor, quietly ignored)
BAD_PARAMETER_URLS = [
    "/?done=abc", "/?stale=x&done=1", "/?after=x|99999999999999999999", "/?after=x|abc",
    "/?sort=confidence&after=nan|3", "/?sort=confidence&after=abc|3", "/posts/99999999999999999999",
    "/posts/99999999999999999999/candidates", "/?from=2013-13-45", "/?to=0000-01-01",
    "/export/download?since=0001-01-01", "/export/download?until=9999-12-31",
    "/initiatieven/ambtenaar-2-0?voor=x|%C2%B2", "/initiatieven/ambtenaar-2-0?voor=x|0",
    "/initiatieven/ambtenaar-2-0?voor=x|99999999999999999999", "/initiatieven/ambtenaar-2-0?voor=x",
]


@pytest.mark.parametrize("url", BAD_PARAMETER_URLS)
def test_bad_parameters_are_a_400_in_the_layout_with_headers(site, url):
    with client(site) as c:
        login(c, "eva")
        response = c.get(url)
    assert response.status_code == 400, (url, response.status_code, response.text[:300])
    assert_headers(response)
    assert '<p class="problem" role="alert">' in response.text and "<header" in response.text


def test_search_with_any_character_is_never_a_syntax_error(site):
    with client(site) as c:
        login(c, "eva")
        for q in ["a\x00b", '"', 'a"b', "*", "(", "NEAR(", "a OR", "-x", "^a", "a:b", "\x01\x7f", "é*"]:
            response = c.get("/", params={"q": q, "status": "alle"})
            assert response.status_code == 200, (q, response.text[:300])
        assert c.get("/?status=alle&q=%ED%A0%80%FF%00").status_code == 200   # not UTF-8 at all
        response = c.get("/", params={"q": "experimenteren\x00", "status": "alle"})
        assert response.text.count('class="item ') == 10


def test_bad_form_numbers_are_400s(site):
    with client(site) as c:
        csrf = login(c, "eva")
        for form in [{"action": "duplicate", "version": "0", "duplicate_of": "99999999999999999999"},
                     {"action": "accept", "version": "99999999999999999999"},
                     {"action": "accept", "version": "²"}]:
            response = c.post("/posts/1/decision", data={**form, "csrf": csrf})
            assert response.status_code == 400, (form, response.text[:300])
            assert_headers(response)
        for select in ["²:0", "1:²", "99999999999999999999:0", "1:99999999999999999999"]:
            response = c.post("/bulk", data={"csrf": csrf, "action": "accept", "select": select})
            assert response.status_code == 400, (select, response.text[:300])
            assert_headers(response)


def test_a_decision_refused_for_a_bad_field_is_not_saved(site):
    """A 400 says nothing was saved: every field is read before the decision is taken."""
    with client(site) as c:
        csrf = login(c, "eva")
        for fetch in ({}, {"X-Requested-With": "fetch"}):
            response = c.post("/posts/8/decision", headers=fetch,
                              data={"csrf": csrf, "action": "reject", "reason": "spam", "version": "0", "volgende": "²"})
            assert response.status_code == 400, response.text[:300]
            # the queue's script shows a text answer as a message and keeps the card; a page would replace it
            assert response.headers["content-type"].startswith("text/plain" if fetch else "text/html"), fetch
            assert "De volgende post" in response.text
    with Store(site[1].db_path) as store:
        assert store.reviews.state(8).version == 0 and store.reviews.history(8) == []


def test_a_duplicate_without_the_originals_number_asks_for_it(site):
    with client(site) as c:
        csrf = login(c, "eva")
        with Store(site[1].db_path) as store:
            version = store.reviews.state(5).version
        for original in [None, "", " ", "abc", "²", "0"]:
            form = {"csrf": csrf, "version": str(version), "action": "duplicate"}
            if original is not None:
                form["duplicate_of"] = original
            page = c.post("/posts/5/decision", data=form)   # without JavaScript: the post's page
            card = c.post("/posts/5/decision", data=form, headers={"x-requested-with": "fetch"})
            for response in (page, card):
                assert response.status_code == 400, (original, response.text[:300])
                assert_headers(response)
                assert "Vul het nummer van de oorspronkelijke post in." in response.text, original
                assert "None" not in response.text
            assert "<header" in page.text and '<article class="item' in card.text
    with Store(site[1].db_path) as store:
        assert store.reviews.state(5).version == version


def test_no_such_page_and_a_wrong_method_are_dutch_pages(site):
    wrong = [("GET", "/bestaat-niet", 404, None), ("GET", "/posts/abc", 404, None),
             ("GET", "/static/bestaat-niet.css", 404, None), ("GET", "/posts/1/decision", 405, {"POST"}),
             ("PUT", "/", 405, {"GET", "HEAD"}), ("DELETE", "/static/app.css", 405, {"GET", "HEAD"})]
    text = {404: "Deze pagina bestaat niet.", 405: "Dit kan niet met deze pagina."}
    for logged_in in (True, False):
        with client(site) as c:
            if logged_in:
                login(c, "eva")
            for method, url, status, allow in wrong:
                response = c.request(method, url)
                assert response.status_code == status, (method, url, response.text[:200])
                assert response.headers["content-type"].startswith("text/html"), (method, url)
                assert_headers(response)
                assert f'<p class="problem" role="alert">{text[status]}</p>' in response.text, (method, url)
                assert "<header" in response.text and "Not Found" not in response.text
                allowed = response.headers.get("allow")
                assert (set(allowed.split(", ")) if allowed else None) == allow, (method, url)
                # a logged-in editor keeps the menu; anyone else gets the page without it
                assert ('aria-label="Hoofdmenu"' in response.text) == logged_in, (method, url)
    # refusals the app makes itself are as before: a role too low, no session
    with client(site) as c:
        login(c, "eva")
        refused = c.get("/accounts")
        assert refused.status_code == 403 and "Geweigerd: uw rol (redacteur) mag dit niet." in refused.text
    with client(site) as c:
        assert c.get("/").headers["location"] == "/login?next=%2F"
        anonymous = c.post("/posts/1/decision", data={"action": "accept"})
        assert anonymous.status_code == 401 and anonymous.text == "Niet ingelogd: log eerst in."


def test_an_unforeseen_error_is_a_500_with_the_security_headers(tmp_path):
    from starlette.routing import Route

    from harvester.web import create_app

    config = write_web_config(tmp_path)

    async def broken(request):
        raise RuntimeError("kapot")

    app = create_app(config)
    app.router.routes.insert(0, Route("/kapot", broken))
    server = ServerThread(config, app=app).start()
    try:
        with client((server, config)) as c:
            response = c.get("/kapot")
        with client((server, config)) as c:   # uvicorn closes a connection whose request raised
            # the queue's script puts an HTML answer in place of the card: to it, the message alone
            fetched = c.get("/kapot", headers={"X-Requested-With": "fetch"})
    finally:
        server.stop()
    assert response.status_code == 500
    assert_headers(response)
    assert "Er ging iets mis" in response.text and "kapot" not in response.text
    assert fetched.status_code == 500 and fetched.headers["content-type"].startswith("text/plain")
    assert_headers(fetched)
    assert fetched.text.startswith("Er ging iets mis op de server.") and "kapot" not in fetched.text


def _stream(url: str, headers: list[str], chunk: bytes, total: int, chunked: bool) -> tuple[int, int]:
    """POST `total` bytes to a server in pieces over a raw socket, reading the answer as soon as
    it comes; returns (status, bytes sent before the server answered or closed)."""
    import select
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", *headers]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent, answer = 0, b""
    piece = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") if chunked else chunk
    try:
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break
            if writable:
                sock.sendall(piece)
                sent += len(chunk)
        else:
            if chunked:
                sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        while b"\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    finally:
        sock.close()
    return int(answer.split(b" ", 2)[1]), sent


@pytest.mark.parametrize("kind", ["multipart", "form-length", "form-chunked"])
def test_a_300_mb_body_is_refused_before_it_is_read_or_stored(site, tmp_path, monkeypatch, kind):
    import tempfile
    import threading

    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))   # where Starlette would spool file parts
    largest, watching = [0], [True]

    def watch():
        while watching[0]:
            largest[0] = max(largest[0], sum(p.stat().st_size for p in spool.rglob("*") if p.is_file()))

    watcher = threading.Thread(target=watch)
    watcher.start()
    total = 300 * 1024 * 1024
    try:
        if kind == "multipart":
            boundary = "grens"
            start = (f'--{boundary}\r\nContent-Disposition: form-data; name="bestand"; filename="a.bin"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n").encode()
            status, sent = _stream(f"{site[0].url}/login", [f"Content-Type: multipart/form-data; boundary={boundary}"],
                                   start + b"x" * (1024 * 1024 - len(start)), total, chunked=False)
            assert status == 415
        else:
            status, sent = _stream(f"{site[0].url}/login", ["Content-Type: application/x-www-form-urlencoded"],
                                   b"name=" + b"x" * (1024 * 1024 - 5), total, chunked=kind == "form-chunked")
            assert status == 413
    finally:
        watching[0] = False
        watcher.join()
    assert sent < 64 * 1024 * 1024, f"{sent} bytes went in before the answer"
    assert largest[0] == 0, f"a temporary file of {largest[0]} bytes was written"


def test_a_small_form_still_works_and_the_limit_is_a_config_key(tmp_path):
    import textwrap

    from harvester.config import ConfigError, load_config

    path = tmp_path / "c.toml"
    path.write_text(textwrap.dedent("""
        [web]
        max_body_kb = 8
    """))
    with pytest.raises(ConfigError, match="max_body_kb"):
        load_config(path)


def test_duplicate_links_make_no_cycles_and_point_to_an_original(site):
    def decide(c, csrf, post, **form):
        with Store(site[1].db_path) as store:
            version = store.reviews.state(post).version
        return c.post(f"/posts/{post}/decision", data={"csrf": csrf, "version": str(version), **form})

    with client(site) as c:
        csrf = login(c, "eva")
        assert decide(c, csrf, 8, action="duplicate", duplicate_of="9").status_code == 303
        cycle = decide(c, csrf, 9, action="duplicate", duplicate_of="8")
        assert cycle.status_code == 400 and "kring" in cycle.text
        assert_headers(cycle)
        # a duplicate of a duplicate points to the original
        assert decide(c, csrf, 7, action="duplicate", duplicate_of="8").status_code == 303
        with Store(site[1].db_path) as store:
            assert store.reviews.state(7).duplicate_of == 9
        # the original cannot become a duplicate while others point to it
        assert decide(c, csrf, 9, action="duplicate", duplicate_of="6").status_code == 400
        # nor through undo: 8 back to new, 9 a duplicate of 8, then undoing 8's reopen would close a cycle
        assert decide(c, csrf, 7, action="reopen").status_code == 303
        assert decide(c, csrf, 8, action="reopen").status_code == 303
        assert decide(c, csrf, 9, action="duplicate", duplicate_of="8").status_code == 303
        assert decide(c, csrf, 8, action="undo").status_code == 400
    with Store(site[1].db_path) as store:
        states = {n: store.reviews.state(n) for n in (7, 8, 9)}
        links = store.db.execute("SELECT r.post_id FROM reviews r JOIN reviews t ON t.post_id = r.duplicate_of"
                                 " WHERE r.status = 'duplicaat' AND t.status = 'duplicaat'").fetchall()
    assert links == []
    assert (states[9].status, states[9].duplicate_of) == ("duplicaat", 8)
    assert states[8].status == "nieuw" and states[7].status == "nieuw"
