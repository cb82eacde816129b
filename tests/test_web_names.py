"""Names and texts from hostile sources (issue 16 point 7): cleaned and capped at harvest, and a
name that survives in the store cannot reverse or widen the page (in chromium, via Playwright)."""

from __future__ import annotations

import pytest

from harvester.config import load_config
from harvester.jobs.harvest import run_sources
from harvester.normalize import MAX_HTML, MAX_NAME, MAX_TEXT, MAX_TITLE, clean
from harvester.store import Store
from harvester.web import ServerThread

from .localserver import Reply
from .test_web_browser import CHROMIUM_ARGS
from .webdata import PASSWORD, add_post, add_user, write_web_config

RLO = "\u202e"
HOSTILE_FEED = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title><link>https://vijand.example/</link>
<item><guid>https://vijand.example/1</guid><link>https://vijand.example/1</link>
<title>Idee\x01 met \x7f stuurtekens\x00 #innoverheid</title>
<dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">{RLO}evil {"x" * 5000}</dc:creator>
<description>{"&lt;p&gt;" + "lang idee " * 240_000 + "&lt;/p&gt;"}</description></item>
</channel></rss>"""


def test_titles_names_and_texts_are_cleaned_and_capped_at_harvest(server, write_config, store):
    server.route("/feed", Reply(200, HOSTILE_FEED.encode(), {"Content-Type": "application/rss+xml"}))
    config = load_config(write_config(f'\n[[sources]]\nname = "vijand"\ntype = "feed"\nurl = "{server.url("/feed")}"\n'
                                      'match = "all"\n'))
    [result] = list(run_sources(store, config, config.sources))
    assert result.counts.new == 1, result      # "partial": not well-formed XML, read loosely
    title, text, html, name, key = store.db.execute(
        "SELECT p.title, p.text, p.content_html, a.display_name, a.key FROM posts p JOIN authors a ON a.id = p.author_id"
    ).fetchone()
    assert title == "Idee met stuurtekens #innoverheid" and not any(ord(c) < 32 or ord(c) == 127 for c in title)
    assert "\x00" not in title and len(title) <= MAX_TITLE
    assert len(text) <= MAX_TEXT and text.endswith("…") and len(html) <= MAX_HTML
    assert len(name) <= MAX_NAME and name.startswith(RLO + "evil") and len(key) <= 1000


def test_clean_keeps_tabs_and_newlines_in_texts_only():
    assert clean("a\tb\nc\x00d\x1be\u0085f\ud800g\uffffh\ufffe", 100) == "a\tb\ncdefgh"
    assert clean("a\tb\n c\r\nd", 100, one_line=True) == "a b c d"
    assert clean("x" * 10, 5) == "xxxx…"


@pytest.mark.browser
def test_a_spoofing_or_very_long_name_stays_in_its_place(tmp_path):
    from .conftest import require_program

    executable = require_program("chromium")
    from playwright.sync_api import sync_playwright

    config = write_web_config(tmp_path)
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        # stored directly, as a database from before the caps may hold them
        add_post(store, 1, author="a@x.example")
        add_post(store, 2, author="b@x.example")
        store.db.execute("UPDATE authors SET display_name = ? WHERE key = 'a@x.example'", [RLO + "kwaad"])
        store.db.execute("UPDATE authors SET display_name = ? WHERE key = 'b@x.example'", ["n" * 5000])
        store.db.conn.commit()
    server = ServerThread(config).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            page = browser.new_page(base_url=server.url, viewport={"width": 800, "height": 900})
            page.goto("/login")
            page.fill("#name", "eva")
            page.fill("#password", PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url("**/")
            width = page.evaluate("document.documentElement.scrollWidth")
            # the override ends with the name: "bron:" after it still reads left to right
            order = page.evaluate("""() => {
                const meta = document.querySelector('#post-1 .meta');
                const walker = document.createTreeWalker(meta, NodeFilter.SHOW_TEXT);
                let node;
                while ((node = walker.nextNode()) && !node.data.includes('bron:')) {}
                const at = node.data.indexOf('bron:');
                const rect = (i) => { const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
                                      return r.getBoundingClientRect().left; };
                return [rect(at), rect(at + 4)];
            }""")
            assert order[0] < order[1], order
            assert width <= 800, width
            browser.close()
    finally:
        server.stop()
