"""`harvester export`: the excel-nl round trip through the command, Dutch errors, no half files."""

from __future__ import annotations

import codecs
import sqlite3

import openpyxl
import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.privacy.hashing import pseudonym

from .conftest import ROOT
from .test_export import HEADER, SECRET, expected_rows, fill, read_csv


@pytest.fixture
def ideas(store):
    return fill(store)


@pytest.fixture
def cli(write_config, monkeypatch):
    monkeypatch.delenv("TEST_EXPORT_SECRET", raising=False)
    config = write_config(f'[nlp]\nthemes = "{ROOT / "config" / "themes.toml"}"\n'
                          '[privacy]\nsecret_env = "TEST_EXPORT_SECRET"\n')

    def run(*args: str):
        return CliRunner().invoke(main, ["export", "--config", str(config), *args])

    return run


def test_excel_nl_csv_round_trips_to_the_database_rows(ideas, cli, tmp_path):
    out = tmp_path / "ideeën.csv"
    result = cli("--out", str(out))
    assert result.exit_code == 0, result.output
    assert "5 ideeën geëxporteerd" in result.output
    data = out.read_bytes()
    rows = read_csv(data, "excel-nl")
    expected = expected_rows(ideas)
    assert rows == [HEADER, *(expected[k] for k in ("p1", "p2", "p3", "p6", "p7"))]
    # CRLF ends every record; a newline inside a text stays as it was
    assert data.count(b"\r\n") == len(rows) and b"\n\n" in data and not data.startswith(codecs.BOM_UTF8 * 2)
    assert b"sep=" not in data


def test_cli_status_duplicaat_exports_the_duplicates(ideas, cli, tmp_path):
    out = tmp_path / "duplicaten.csv"
    result = cli("--out", str(out), "--status", "duplicaat")
    assert result.exit_code == 0, result.output
    assert "2 ideeën geëxporteerd" in result.output
    rows = read_csv(out.read_bytes(), "excel-nl")
    assert [(r[0], r[7]) for r in rows[1:]] == [(str(ideas["p4"]), "duplicaat"), (str(ideas["p5"]), "duplicaat")]


def test_cli_pseudonymizes_with_the_secret_from_the_environment(ideas, cli, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_EXPORT_SECRET", SECRET)
    out = tmp_path / "p.xlsx"
    result = cli("--out", str(out), "--pseudonymize", "--status", "nieuw")
    assert result.exit_code == 0, result.output
    values = [c.value for c in openpyxl.load_workbook(out).active["D"]]
    assert values[0] == "auteur" and pseudonym(SECRET.encode(), "anne@mastodon.nl") in values


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--theme", "klimaat"], "onbekend thema 'klimaat'"),
        (["--status", "klaar"], "onbekende status 'klaar'"),
        (["--since", "14-05-2013"], "--since: '14-05-2013' is geen datum"),
        (["--until", "9999-12-31"], "--until: kies een datum van 1900-01-01 tot en met 9998-12-31"),
        (["--since", "2013-06-01", "--until", "2013-05-01"], "de begindatum (2013-06-01) ligt na de einddatum (2013-05-01)"),
        (["--source", "nergens"], "onbekende bron 'nergens'"),
        (["--raw"], "--raw kan alleen met --format csv --dialect rfc4180"),
        (["--format", "ods"], "onbekend formaat 'ods'"),
        (["--dialect", "excel"], "onbekend dialect 'excel'"),
        (["--pseudonymize"], "TEST_EXPORT_SECRET"),
    ],
)
def test_cli_refuses_bad_options_in_dutch_and_writes_nothing(ideas, cli, tmp_path, args, message):
    out = tmp_path / "x.csv"
    result = cli("--out", str(out), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists() and not list(tmp_path.glob(".x.csv*"))


def test_cli_failed_export_leaves_no_half_file(ideas, cli, tmp_path, monkeypatch):
    out = tmp_path / "ideeën.csv"
    out.write_bytes(b"de vorige export")

    def broken(store, options, stream, **kw):
        stream.write(b"id;thema's;idee\r\n1;")
        locked = sqlite3.OperationalError("database is locked")
        locked.sqlite_errorcode = sqlite3.SQLITE_BUSY   # as SQLite sets it
        raise locked

    monkeypatch.setattr("harvester.cli.export.write_export", broken)
    result = cli("--out", str(out))
    assert result.exit_code == 1
    assert "harvester export: databasefout: de database is bezet" in result.output, result.output
    assert out.read_bytes() == b"de vorige export"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["harvester.db", "harvester.db-shm", "harvester.db-wal",
                                                                 "harvester.toml", "ideeën.csv"])
