"""Issue 16, over real HTTP against uvicorn on 127.0.0.1: parameters that used to be 500s, bodies
capped before they are stored, duplicate cycles, names that spoof the page, sessions and names.

The login throttle has its own file (test_web_login.py).
"""

from __future__ import annotations

import re

import httpx
import pytest

from harvester.store import Store
from harvester.web import ServerThread

from .webdata import add_post, add_user, login, write_web_config

SECURITY = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hardening")
    config = write_web_config(directory)
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        add_user(store, "bea", "beheerder")
        for n in range(1, 11):
            add_post(store, n)
    server = ServerThread(config).start()
    yield server, config
    server.stop()


def client(site) -> httpx.Client:
    return httpx.Client(base_url=site[0].url, follow_redirects=False, timeout=30)


def assert_headers(response: httpx.Response) -> None:
    for name in SECURITY:
        assert name in response.headers, (response.request.url, name)


URLS_THAT_WERE_500 = [
    "/?done=abc", "/?stale=x&done=1", "/?after=x|99999999999999999999", "/?after=x|abc",
    "/?sort=confidence&after=nan|3", "/?sort=confidence&after=abc|3", "/posts/99999999999999999999",
    "/posts/99999999999999999999/candidates", "/?from=2013-13-45", "/?to=0000-01-01",
    "/export/download?since=0001-01-01", "/export/download?until=9999-12-31",
]


@pytest.mark.parametrize("url", URLS_THAT_WERE_500)
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


def test_an_unforeseen_error_is_a_500_with_the_security_headers(tmp_path):
    from starlette.routing import Route

    from harvester.web import create_app

    config = write_web_config(tmp_path)

    async def broken(request):
        raise RuntimeError("kapot")

    app = create_app(config)
    app.router.routes.insert(0, Route("/kapot", broken))
    import uvicorn

    server = ServerThread(config)
    server.server = uvicorn.Server(uvicorn.Config(app, host=server.host, port=server.port, log_level="critical",
                                                  lifespan="on"))
    server.thread = __import__("threading").Thread(target=server.server.run, daemon=True)
    server.start()
    try:
        with client((server, config)) as c:
            response = c.get("/kapot")
    finally:
        server.stop()
    assert response.status_code == 500
    assert_headers(response)
    assert "Er ging iets mis" in response.text and "kapot" not in response.text
