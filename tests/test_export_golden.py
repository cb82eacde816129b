"""Golden files: every export variant of one rich database, compared byte for byte.

The database is built through the store's own interfaces (harvest upserts, verdicts, editors'
decisions, the retention job's pseudonyms), so it holds what a real one holds: quotes, `;` and
`,`, CR/LF, cells starting with = + - @ tab CR, emoji, control characters, a pseudonymised author,
duplicates, several themes, rejected posts, times around the summer-time changes and before 1996
and 1940. The outputs are in tests/data/export_golden/; a change to the export that changes a
byte must change the golden file in its own commit saying which bytes and why.

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_export_golden.py   # rewrite them
"""

from __future__ import annotations

import io
import json
import os
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from harvester.export import ExportOptions, write_export
from harvester.models import Author, Classification, Post
from harvester.privacy import retention

GOLDEN = Path(__file__).resolve().parent / "data" / "export_golden"
SECRET = b"golden-file-secret-0123456789abcdef"
LABELS = {"cultuur": "Cultuur", "samenwerking": "Samenwerking", "open_overheid": "Open overheid",
          "leiderschap": "Leiderschap", "structuur": "Structuur; vorm"}

VARIANTS: dict[str, dict] = {
    "excel-nl.csv": {},
    "excel-nl-per-theme.csv": {"per_theme": True},
    "rfc4180.csv": {"dialect": "rfc4180"},
    "rfc4180-raw.csv": {"dialect": "rfc4180", "raw": True},
    "rfc4180-per-theme.csv": {"dialect": "rfc4180", "per_theme": True},
    "filter-theme-status.csv": {"themes": ("cultuur", "leiderschap"), "statuses": ("nieuw", "geaccepteerd")},
    "filter-dates-source.csv": {"since": date(2013, 3, 31), "until": date(2013, 10, 27), "sources": ("kennisland",)},
    "pseudonymized.csv": {"pseudonymize": True},
    "pseudonymized-rfc4180-per-theme.csv": {"pseudonymize": True, "dialect": "rfc4180", "per_theme": True},
    "xlsx.json": {"format": "xlsx"},
    "xlsx-per-theme.json": {"format": "xlsx", "per_theme": True},
}


def build(store) -> dict[str, int]:
    """The golden database; returns post ids by name (they are the same on every build)."""
    nl = store.sources.sync("mastodon-nl", "mastodon", "https://mastodon.nl")
    gov = store.sources.sync("social-overheid", "mastodon", "https://social.overheid.nl")
    kl = store.sources.sync("kennisland", "feed", "https://www.kl.nl/feed/")
    editor = store.users.add("redacteur", "redacteur", "niet-gebruikt")
    ids: dict[str, int] = {}

    def toot(name, text, published, author, *sources, display=None):
        acct = author
        post = Post(key=f"https://mastodon.nl/users/x/statuses/{name}", kind="mastodon",
                    content_html=f"<p>{text}</p>", text=text, url=f"https://mastodon.nl/@{acct.split('@')[0]}/{name}",
                    published_at=published,
                    author=Author(acct, display if display is not None else acct.split("@")[0].capitalize() + " de Vries"))
        for source in sources:
            store.posts.upsert(post, source.id)
        ids[name] = store.db.execute("SELECT id FROM posts WHERE key = ?", [post.key]).fetchone()[0]

    def entry(name, text, published, title=None, author=None):
        post = Post(key=f"https://www.kl.nl/{name}", kind="feed", content_html=text, text=text, title=title,
                    url=f"https://www.kl.nl/{name}", published_at=published,
                    author=Author(author) if author else None)
        store.posts.upsert(post, kl.id)
        ids[name] = store.db.execute("SELECT id FROM posts WHERE key = ?", [post.key]).fetchone()[0]

    def classify(name, scores, assigned):
        store.classifications.save(ids[name], Classification(scores, assigned, {}, "nl", True, 0.8, "golden-1"))

    def decide(name, action, note=None, **kw):
        version = store.reviews.state(ids[name]).version
        state = store.reviews.decide(ids[name], editor, version, action, **kw)
        if note is not None:
            store.reviews.decide(ids[name], editor, state.version, "note", note=note)

    toot("quotes", 'Samen "durven" experimenteren; ook in Zeeland, Friesland 🚀\nCoöperatie en café met '
         "@bob@social.overheid.nl", "2013-05-14T22:30:00+00:00", "anne@mastodon.nl", nl, gov)
    toot("formula", '=HYPERLINK("http://evil.example","klik")', "2013-01-10T09:00:00+00:00", "carol@mastodon.nl", nl)
    entry("crlf", "-meer ruimte\r\nminder regels\rnog een regel", "2013-03-31T01:00:00+00:00",
          title="@Kennisland: open data; nu!", author="Redactie Kennisland")
    entry("tab", "\tIdee zonder datum", None)
    entry("cr", "\rverborgen =1+1", "2013-10-27T00:59:59+00:00")
    toot("plus", "+1 voor dit, zeker", "1995-06-15T12:00:00+00:00", "dave@mastodon.nl", nl, display="")
    toot("old", 'Een "oud" idee, van vóór de oorlog', "1930-05-14T12:00:00+00:00", "erin@mastodon.nl", gov,
         display="erin@mastodon.nl")
    toot("dup1", "Ja, samen durven!", "2013-05-16T08:00:00+00:00", "frank@mastodon.nl", nl)
    toot("dup2", "Eens; durven", "2013-05-16T09:00:00+00:00", "gerda@mastodon.nl", nl)
    toot("spam", "@anne@mastodon.nl koop nu goedkope horloges", "2013-07-01T10:00:00+00:00", "spam@mastodon.nl", nl)
    toot("pseudo", "Ik, Henk, wil een loket voor iedereen", "2013-10-27T01:00:00+00:00", "henk@mastodon.nl", nl, gov)
    toot("henk2", "Nog een idee van Henk", "2013-10-27T01:30:00.250+00:00", "henk@mastodon.nl", nl)
    toot("safe", "'=al veilig; 1-2 😀", "2014-03-30T00:59:59Z", "ivo@mastodon.nl", nl)
    toot("control", "\x01=HYPERLINK(\"https://evil.example\",\"x\")\x07 bel\x0bmij", "2014-03-30T01:00:00+00:00",
         "jan@mastodon.nl", nl)
    entry("nul", "tekst met een\x00nul", "2014-10-26T00:30:00+00:00", title="Titel\x00 met NUL")
    entry("empty", "", "2040-06-01T12:00:00+00:00", author="https://blog.example/auteur")

    classify("quotes", {"cultuur": 0.91, "samenwerking": 0.62, "open_overheid": 0.1}, ("cultuur", "samenwerking"))
    classify("formula", {"open_overheid": 0.81, "leiderschap": 0.3}, ("open_overheid",))
    classify("crlf", {"structuur": 0.7, "cultuur": 0.2}, ("structuur",))
    classify("dup1", {"cultuur": 0.8}, ("cultuur",))
    classify("spam", {"cultuur": 0.55}, ("cultuur",))
    classify("pseudo", {"cultuur": 0.4444, "onbekend_thema": 0.9}, ("onbekend_thema",))
    classify("old", {"leiderschap": 0.6666}, ("leiderschap",))
    classify("control", {"samenwerking": 0.5}, ("samenwerking",))

    decide("formula", "set_themes", themes=["open_overheid", "leiderschap"], note="+31 6 1234 5678 bellen")
    decide("dup1", "duplicate", duplicate_of=ids["quotes"])
    decide("dup2", "duplicate", duplicate_of=ids["quotes"])
    decide("spam", "reject", reason="spam", note="#N/A")
    decide("crlf", "set_themes", themes=["structuur", "cultuur"], note='zie "notulen";\r\nregel 2,\x00 na NUL')
    decide("old", "reopen", note="-2 punten\x01")
    decide("pseudo", "accept", note="@henk@mastodon.nl bellen; Henk weet het")
    decide("control", "set_themes", themes=["samenwerking", "cultuur", "samenwerking"], note="=1+1")
    retention.pseudonymize(store, "9999-12-31T00:00:00+00:00", SECRET)   # only the accepted posts
    return ids


def export(store, options: dict) -> bytes:
    out = io.BytesIO()
    write_export(store, ExportOptions(**options), out, secret=SECRET, labels=LABELS)
    return out.getvalue()


def xlsx_cells(data: bytes) -> bytes:
    """The cells of an XLSX as openpyxl reads them back, value and type, one JSON row per line
    (the file itself holds times of its making)."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = [json.dumps([[c.value, c.data_type] for c in row], ensure_ascii=False) for row in sheet.iter_rows()]
    return ("\n".join(rows) + "\n").encode("utf-8")


@pytest.fixture(scope="module")
def golden_store(tmp_path_factory):
    from harvester.store import Store

    with Store(tmp_path_factory.mktemp("golden") / "harvester.db") as store:
        build(store)
        yield store


@pytest.mark.parametrize("name", list(VARIANTS))
def test_export_matches_its_golden_file(golden_store, name):
    options = VARIANTS[name]
    data = export(golden_store, options)
    if options.get("format") == "xlsx":
        data = xlsx_cells(data)
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert data == path.read_bytes(), f"{name} differs from its golden file"


def test_golden_files_are_all_used():
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(VARIANTS)


def test_a_file_filled_before_migration_4_exports_the_same(tmp_path):
    """Migration 4 drops the kept export cells and their triggers from a file that has them full.

    Today's store writes columns later migrations added, so the data is built in a current file
    and copied row by row into a file at migration 3, whose triggers fill the kept cells as they
    did then."""
    from harvester.store import Store
    from harvester.store.schema import MIGRATIONS

    current, old = tmp_path / "current.db", tmp_path / "harvester.db"
    with Store(current) as store:
        build(store)
    with Store(old, migrate=False) as store:
        store.migrate(MIGRATIONS[:3])
        db = store.db
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("ATTACH DATABASE ? AS current", [str(current)])
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                           " AND name NOT LIKE 'sqlite%' AND name NOT LIKE '%fts%'"
                                           " AND name NOT IN ('export_cells', 'effective_themes')")]
        renamed = {("classifications", "classified_at"): "post_changed_at"}   # by V_SEEN_CHANGES: old -> current
        with db.conn:
            for table in tables:
                old_columns = sorted(r[1] for r in db.execute(f"PRAGMA main.table_info({table})"))
                current_columns = {r[1] for r in db.execute(f"PRAGMA current.table_info({table})")}
                pairs = [(c, renamed.get((table, c), c)) for c in old_columns]
                pairs = [(o, c) for o, c in pairs if c in current_columns]
                db.execute(f"INSERT INTO main.{table} ({', '.join(o for o, _ in pairs)})"
                           f" SELECT {', '.join(c for _, c in pairs)} FROM current.{table}")
        db.execute("DETACH DATABASE current")
        assert db.execute("SELECT count(*) FROM export_cells").fetchone() == (16,)
    with Store(old) as store:
        assert store.schema_version == len(MIGRATIONS)
        left = store.db.execute("SELECT name FROM sqlite_master WHERE name LIKE '%export%'"
                                " OR name LIKE 'effective_themes%'").fetchall()
        assert left == []
        for name in ("excel-nl.csv", "excel-nl-per-theme.csv", "pseudonymized.csv"):
            assert export(store, VARIANTS[name]) == (GOLDEN / name).read_bytes(), name
