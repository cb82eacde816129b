"""The review app's export download, over real HTTP against uvicorn on 127.0.0.1."""

from __future__ import annotations

import io

import httpx
import openpyxl
import pytest

from harvester.export import ExportOptions, write_export
from harvester.nlp.themes import load_themes
from harvester.store import Store
from harvester.web import ServerThread

from .test_export import HEADER, fill, read_csv
from .webdata import add_user, login, write_web_config


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    directory = tmp_path_factory.mktemp("web-export")
    config = write_web_config(directory)
    with Store(config.db_path) as store:
        ids = fill(store)
        add_user(store, "lex", "lezer")
    server = ServerThread(config).start()
    yield server, config, ids
    server.stop()


def snapshot(config) -> list[str]:
    """Everything an export could change, sessions aside (logging in writes those)."""
    with Store(config.db_path) as store:
        return [line for line in store.db.conn.iterdump() if "sessions" not in line and "login_failures" not in line]


def test_download_needs_a_login(site):
    with httpx.Client(base_url=site[0].url) as c:
        response = c.get("/export/download?format=csv")
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_download_is_the_same_export_as_the_command_and_changes_nothing(site):
    server, config, ids = site
    before = snapshot(config)
    with httpx.Client(base_url=server.url, timeout=30) as c:
        login(c, "lex")
        page = c.get("/export")
        assert page.status_code == 200 and 'name="theme" value="open_overheid"' in page.text
        response = c.get("/export/download", params=[("format", "csv"), ("status", "nieuw"), ("status", "geaccepteerd"),
                                                     ("since", "2013-01-01"), ("until", "2013-12-31")])
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"].startswith('attachment; filename="ideeen-')
        xlsx = c.get("/export/download", params={"format": "xlsx", "theme": "open_overheid", "per_theme": "1"})
    assert snapshot(config) == before
    labels = {t.id: t.label for t in load_themes(config.nlp.themes).themes}
    expected = io.BytesIO()
    with Store(config.db_path) as store:
        from datetime import date

        write_export(store, ExportOptions(statuses=("nieuw", "geaccepteerd"), since=date(2013, 1, 1),
                                          until=date(2013, 12, 31)), expected, labels=labels)
    assert response.content == expected.getvalue()
    rows = read_csv(response.content, "excel-nl")
    assert rows[0] == HEADER and [r[0] for r in rows[1:]] == [str(ids[n]) for n in ("p1", "p2", "p3")]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [[c.value for c in row][:2] for row in sheet.iter_rows()] == [["id", "thema"], [ids["p2"], "Open overheid"]]


def test_the_duplicaat_choice_downloads_the_duplicates(site):
    server, config, ids = site
    with httpx.Client(base_url=server.url, timeout=30) as c:
        login(c, "lex")
        assert "behalve als u de status Duplicaat kiest" in c.get("/export").text
        response = c.get("/export/download", params={"format": "csv", "status": "duplicaat"})
    assert response.status_code == 200
    rows = read_csv(response.content, "excel-nl")
    assert [(r[0], r[7]) for r in rows[1:]] == [(str(ids["p4"]), "duplicaat"), (str(ids["p5"]), "duplicaat")]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "14-05-2013"}, "vanaf: &#39;14-05-2013&#39; is geen datum"),
        ({"theme": "klimaat"}, "onbekend thema &#39;klimaat&#39;"),
        ({"status": "klaar"}, "onbekende status &#39;klaar&#39;"),
        ({"format": "ods"}, "onbekend formaat &#39;ods&#39;"),
    ],
)
def test_bad_choices_show_the_form_with_a_dutch_error(site, params, message):
    with httpx.Client(base_url=site[0].url, timeout=30) as c:
        login(c, "lex")
        response = c.get("/export/download", params=params)
    assert response.status_code == 400
    assert "Kan niet exporteren" in response.text and message in response.text
