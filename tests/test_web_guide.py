"""The editors' guide (docs/redactie.md) is a page of the app, linked from the help window."""

from __future__ import annotations

import httpx
import pytest

from harvester.store import Store
from harvester.web import ServerThread

from .webdata import add_user, login, write_web_config


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    config = write_web_config(tmp_path_factory.mktemp("web-guide"))
    with Store(config.db_path) as store:
        add_user(store, "lex", "lezer")
    server = ServerThread(config).start()
    yield server
    server.stop()


def test_the_guide_is_one_click_from_the_help_window(site):
    with httpx.Client(base_url=site.url) as c:
        assert c.get("/handleiding").status_code == 303      # to the login page
        login(c, "lex")
        queue = c.get("/")
        assert '<dialog id="hulp"' in queue.text and '<a href="/handleiding">' in queue.text
        page = c.get("/handleiding")
    assert page.status_code == 200 and "<header" in page.text
    assert "<h1>Handleiding voor redacteuren</h1>" in page.text
    assert "<h2>Een bericht beoordelen</h2>" in page.text and "<td><code>a</code></td>" in page.text
