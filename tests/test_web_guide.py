"""The editors' guide (docs/redactie.md) is a page of the app, linked from the help window."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from harvester.store import Store
from harvester.web import ServerThread

from harvester.web.guide import GUIDE

from .webdata import add_post, add_user, login, write_web_config


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    config = write_web_config(tmp_path_factory.mktemp("web-guide"))
    with Store(config.db_path) as store:
        add_user(store, "lex", "lezer")
        add_user(store, "eva", "redacteur")
        add_post(store, 1)
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


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_guide_names_what_the_app_has_and_says_what_the_theme_keys_do(site):
    """What the guide calls a button is one (on the card, the post page, or the question before
    accepting without a theme), and the keys 1-9 and a do what the app's help window says."""
    with httpx.Client(base_url=site.url) as c:
        csrf = login(c, "eva")
        queue = c.get("/").text
        asked = c.post("/posts/1/decision", data={"csrf": csrf, "version": 0, "action": "accept", "keuze": "1",
                                                  "next": "/posts/1"})
        assert asked.status_code == 422
        app_text = " ".join(text_of(p) for p in (queue, c.get("/posts/1").text, asked.text))
        guide = c.get("/handleiding").text
    source = GUIDE.read_text(encoding="utf-8")
    deciding = source[source.index("## Een bericht beoordelen"):source.index("## Sneltoetsen")]
    named = [n for n in re.findall(r"\*\*([^*]+)\*\*", deciding) if not n.endswith(".")]   # not a paragraph's head
    assert named and [n for n in named if n not in app_text] == []
    help_says = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", queue))
    guide_says = dict(re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*</tr>", guide))
    for help_key, guide_key in (("<kbd>1</kbd>–<kbd>9</kbd>", "<code>1</code>–<code>9</code>"),
                                ("<kbd>a</kbd>", "<code>a</code>")):
        assert text_of(guide_says[guide_key]) == text_of(help_says[help_key])
