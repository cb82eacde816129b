"""The review app keeps to config/themes.toml as it is now: a theme removed while the app runs is no
longer offered or saved, not even by accepting the model's suggestions in bulk, and a broken file
keeps the last good themes with a Dutch message instead of breaking the pages."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pytest

from harvester.config import load_config
from harvester.store import Store
from harvester.web import ServerThread

from .webdata import add_post, add_user, login

THEMES = Path(__file__).resolve().parent.parent / "config" / "themes.toml"
REMOVED = "bestuurders"


@pytest.fixture
def site(tmp_path):
    themes = tmp_path / "themes.toml"
    shutil.copy(THEMES, themes)
    (tmp_path / "harvester.toml").write_text(
        f'[database]\npath = "{tmp_path / "harvester.db"}"\n[nlp]\nthemes = "{themes}"\n', encoding="utf-8")
    config = load_config(tmp_path / "harvester.toml")
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        for n in (1, 2, 3):   # the model (trained before) suggests the theme that will be removed
            add_post(store, n, scores={REMOVED: 0.9, "cultuur": 0.7 if n == 2 else 0.2})
    server = ServerThread(config).start()
    yield server, config, themes
    server.stop()


def without_theme(text: str, theme: str) -> str:
    """The themes file's text without the [[themes]] table of `theme`."""
    start = text.index(f'[[themes]]\nid = "{theme}"')
    end = text.find("[[themes]]", start + 1)
    return text[:start] + (text[end:] if end >= 0 else "")


def offered(html: str) -> set[str]:
    return set(re.findall(r'name="themes" value="([a-z_]+)"', html)) | set(re.findall(r'<option value="([a-z_]+)"', html))


def test_a_theme_removed_while_the_app_runs_is_no_longer_offered_or_saved(site):
    server, config, themes = site
    with httpx.Client(base_url=server.url) as c:
        csrf = login(c, "eva")
        assert REMOVED in offered(c.get("/posts/1").text)
        themes.write_text(without_theme(themes.read_text(encoding="utf-8"), REMOVED), encoding="utf-8")
        page = c.get("/posts/1").text
        assert REMOVED not in offered(page) and "cultuur" in offered(page)
        refused = c.post("/posts/1/decision", data={"csrf": csrf, "version": 0, "action": "set_themes", "keuze": "1",
                                                    "themes": REMOVED, "next": "/posts/1"})
        assert refused.status_code == 400
        # in bulk, "Voorstellen accepteren" saves the configured part of the suggestion; a post whose
        # suggestion has nothing configured left is skipped, as one without a suggestion
        done = c.post("/bulk", data={"csrf": csrf, "next": "/", "bereik": "gekozen", "action": "accept",
                                     "select": ["2:0", "3:0"]}, follow_redirects=True)
        assert "1 post bijgewerkt" in done.text and "1 post zonder voorgesteld thema is overgeslagen" in done.text
    with Store(config.db_path) as store:
        assert store.db.execute("SELECT post_id, status, themes FROM reviews ORDER BY post_id").fetchall() == [
            (2, "geaccepteerd", '["cultuur"]')]


def test_a_broken_themes_file_keeps_the_last_good_themes_and_says_so(site, caplog):
    server, config, themes = site
    good = themes.read_text(encoding="utf-8")
    with httpx.Client(base_url=server.url) as c:
        login(c, "eva")
        themes.write_text(good.replace('id = "cultuur"', 'id = "cultuur', 1), encoding="utf-8")
        for _ in range(2):
            page = c.get("/")
            assert page.status_code == 200
            assert "Het themabestand is niet te gebruiken" in page.text and "thema&#39;s van voor de wijziging" in page.text
            assert {REMOVED, "cultuur"} <= offered(page.text)
        assert len([r for r in caplog.records if "niet geladen" in r.getMessage()]) == 1   # logged once, not per page
        themes.write_text(without_theme(good, REMOVED), encoding="utf-8")
        page = c.get("/").text
        assert "themabestand" not in page and REMOVED not in offered(page)
