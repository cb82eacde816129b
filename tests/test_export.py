"""Workshop exports: round trips through csv and openpyxl, defusing, duplicates, filters, pseudonyms."""

from __future__ import annotations

import codecs
import csv
import io

import openpyxl
import pytest

from harvester.export import ExportError, ExportOptions, local_iso, write_export
from harvester.privacy.hashing import pseudonym
from harvester.models import Author, Classification, Post

SECRET = "een-geheime-sleutel-van-de-test-0123456789"
LABELS = {"cultuur": "Cultuur", "samenwerking": "Samenwerking", "open_overheid": "Open overheid",
          "leiderschap": "Leiderschap", "structuur": "Structuur"}

TEXT_1 = 'Samen "durven" experimenteren; ook in Zeeland 🚀\nCoöperatie en café met @bob@social.overheid.nl'
HOSTILE = '=HYPERLINK("http://evil.example","klik")'


def _classify(store, post_id: int, scores: dict[str, float], assigned: tuple[str, ...]) -> None:
    store.classifications.save(post_id, Classification(scores, assigned, {}, "nl", True, 0.8, "test-1"))


def _review(store, post_id: int, action: str, note: str | None = None, **kw) -> None:
    """Decide as an editor does in the review app (the review store keeps the audit trail)."""
    editor = store.users.get("redacteur") or store.users.add("redacteur", "redacteur", "niet-gebruikt")
    state = store.reviews.decide(post_id, editor, store.reviews.state(post_id).version, action, **kw)
    if note:
        store.reviews.decide(post_id, editor, state.version, "note", note=note)


def fill(store) -> dict[str, int]:
    """Seven posts shaped like real harvests, five classified, four reviewed; returns id by name."""
    nl = store.sources.sync("mastodon-nl", "mastodon", "https://mastodon.nl")
    gov = store.sources.sync("social-overheid", "mastodon", "https://social.overheid.nl")
    kl = store.sources.sync("kennisland", "feed", "https://www.kl.nl/feed/")

    def toot(name, text, published, author, *sources):
        post = Post(key=f"https://mastodon.nl/users/x/statuses/{name}", kind="mastodon", content_html=f"<p>{text}</p>",
                    text=text, url=f"https://mastodon.nl/@{author.split('@')[0]}/{name}", published_at=published,
                    author=Author(author, author.split("@")[0].capitalize() + " de Vries"))
        for source in sources:
            store.posts.upsert(post, source.id)
        return store.db.execute("SELECT id FROM posts WHERE key = ?", [post.key]).fetchone()[0]

    def entry(name, text, published, title=None, author=None):
        post = Post(key=f"https://www.kl.nl/{name}", kind="feed", content_html=text, text=text, title=title,
                    url=f"https://www.kl.nl/{name}", published_at=published, author=Author(author) if author else None)
        store.posts.upsert(post, kl.id)
        return store.db.execute("SELECT id FROM posts WHERE key = ?", [post.key]).fetchone()[0]

    ids = {
        "p1": toot("1", TEXT_1, "2013-05-14T22:30:00+00:00", "anne@mastodon.nl", nl, gov),
        "p2": toot("2", HOSTILE, "2013-01-10T09:00:00+00:00", "carol@mastodon.nl", nl),
        "p3": entry("open-data", "Minder regels, meer ruimte.", "2013-06-01T12:00:00+00:00",
                    title="@Kennisland: open data; nu!", author="Redactie Kennisland"),
        "p4": toot("4", "Ja, samen durven!", "2013-05-16T08:00:00+00:00", "dave@mastodon.nl", nl),
        "p5": toot("5", "Eens, durven", "2013-05-16T09:00:00+00:00", "erin@mastodon.nl", nl),
        "p6": toot("6", "@anne@mastodon.nl koop nu goedkope horloges", "2013-07-01T10:00:00+00:00",
                   "spam@mastodon.nl", nl),
        "p7": entry("zonder-datum", "\tIdee zonder datum", None),
    }
    _classify(store, ids["p1"], {"cultuur": 0.91, "samenwerking": 0.62, "open_overheid": 0.1},
              ("cultuur", "samenwerking"))
    _classify(store, ids["p2"], {"open_overheid": 0.81, "leiderschap": 0.3}, ("open_overheid",))
    _classify(store, ids["p3"], {"structuur": 0.7, "cultuur": 0.2}, ("structuur",))
    _classify(store, ids["p4"], {"cultuur": 0.8}, ("cultuur",))
    _classify(store, ids["p6"], {"cultuur": 0.55}, ("cultuur",))
    _review(store, ids["p2"], "set_themes", themes=["open_overheid", "leiderschap"], note="+31 6 1234 5678 bellen")
    _review(store, ids["p4"], "duplicate", duplicate_of=ids["p1"])
    _review(store, ids["p5"], "duplicate", duplicate_of=ids["p1"])
    _review(store, ids["p6"], "reject", reason="spam", note="#N/A")
    return ids


def expected_rows(ids: dict[str, int]) -> dict[str, list[str]]:
    """The excel-nl cells of every exportable post, written out by hand from `fill`."""
    return {
        "p7": [str(ids["p7"]), "", "'\tIdee zonder datum", "", "kennisland", "https://www.kl.nl/zonder-datum", "",
               "nieuw", "", "", "0", ""],
        "p2": [str(ids["p2"]), "Open overheid, Leiderschap", "'" + HOSTILE, "Carol de Vries (carol@mastodon.nl)",
               "mastodon-nl", "https://mastodon.nl/@carol/2", "2013-01-10T10:00:00+01:00", "geaccepteerd", "0,81",
               "'+31 6 1234 5678 bellen", "0", ""],
        "p1": [str(ids["p1"]), "Cultuur, Samenwerking", TEXT_1, "Anne de Vries (anne@mastodon.nl)",
               "mastodon-nl, social-overheid", "https://mastodon.nl/@anne/1", "2013-05-15T00:30:00+02:00", "nieuw",
               "0,91", "", "2", ""],
        "p3": [str(ids["p3"]), "Structuur", "'@Kennisland: open data; nu!\n\nMinder regels, meer ruimte.",
               "Redactie Kennisland", "kennisland", "https://www.kl.nl/open-data", "2013-06-01T14:00:00+02:00",
               "nieuw", "0,7", "", "0", ""],
        "p6": [str(ids["p6"]), "", "'@anne@mastodon.nl koop nu goedkope horloges", "Spam de Vries (spam@mastodon.nl)",
               "mastodon-nl", "https://mastodon.nl/@spam/6", "2013-07-01T12:00:00+02:00", "afgewezen", "", "#N/A", "0", ""],
    }


HEADER = ["id", "thema's", "idee", "auteur", "bron", "link", "datum", "status", "zekerheid", "notitie",
          "aantal duplicaten", "idee-groep"]


def read_csv(data: bytes, dialect: str) -> list[list[str]]:
    if dialect == "excel-nl":
        assert data.startswith(codecs.BOM_UTF8)
        return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))
    assert not data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def export(store, **kw) -> bytes:
    out = io.BytesIO()
    secret = kw.pop("secret", None)
    write_export(store, ExportOptions(**kw), out, secret=secret, labels=LABELS)
    return out.getvalue()


@pytest.fixture
def ideas(store):
    return fill(store)


def test_rfc4180_round_trips_with_commas_no_bom_and_decimal_points(store, ideas):
    data = export(store, dialect="rfc4180")
    rows = read_csv(data, "rfc4180")
    expected = [[cell.replace("0,", "0.") if n == 8 else cell for n, cell in enumerate(row)]
                for row in expected_rows(ideas).values()]
    assert rows[0] == HEADER
    assert sorted(rows[1:]) == sorted(expected)
    assert data.count(b"\r\n") == len(rows)


def test_hostile_cells_are_defused_and_left_alone_with_raw(store, ideas):
    for dialect in ("excel-nl", "rfc4180"):
        cells = {row[0]: row for row in read_csv(export(store, dialect=dialect), dialect)}
        assert cells[str(ideas["p2"])][2] == "'" + HOSTILE
        assert cells[str(ideas["p2"])][9] == "'+31 6 1234 5678 bellen"
    raw = {row[0]: row for row in read_csv(export(store, dialect="rfc4180", raw=True), "rfc4180")}
    assert raw[str(ideas["p2"])][2] == HOSTILE
    assert raw[str(ideas["p2"])][9] == "+31 6 1234 5678 bellen"
    # raw means exactly what the database holds
    stored = dict(store.db.execute("SELECT id, text FROM posts").fetchall())
    assert raw[str(ideas["p7"])][2] == stored[ideas["p7"]] == "\tIdee zonder datum"
    assert raw[str(ideas["p1"])][2] == stored[ideas["p1"]] == TEXT_1


def _exported_text(store, value: str, **options) -> str:
    """The idee cell of a post holding `value`, through the whole export."""
    source = store.sources.sync("blog", "feed", "https://example.org/feed")
    store.posts.upsert(Post(key="k", kind="feed", content_html="", text=value), source.id)
    dialect = options.get("dialect", "excel-nl")
    rows = read_csv(export(store, **options), dialect)
    assert len(rows) == 2
    return rows[1][2]


@pytest.mark.parametrize("value", ["=1+1", "+31", "-2", "@SUM(A1)", "\tx", "\rx", " =1", '"=1'])
def test_every_formula_start_gets_an_apostrophe(store, value):
    assert _exported_text(store, value) == "'" + value


@pytest.mark.parametrize("value", ["", "idee", "'=al veilig", " -1", "#innoverheid", "1-2", "ü=1", "é", "😀=1"])
def test_other_cells_are_left_alone(store, value):
    assert _exported_text(store, value) == value


def test_raw_is_refused_for_spreadsheet_formats(store, ideas):
    for options in (ExportOptions(raw=True), ExportOptions(format="xlsx", raw=True)):
        with pytest.raises(ExportError, match="--raw"):
            write_export(store, options, io.BytesIO())


def test_xlsx_round_trips_with_strings_as_strings(store, ideas, tmp_path):
    path = tmp_path / "ideeën.xlsx"
    path.write_bytes(export(store, format="xlsx"))
    sheet = openpyxl.load_workbook(path).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]

    def typed(row: list[str]) -> list:
        cells = [None if c == "" else c for c in row]
        cells[0], cells[10] = int(row[0]), int(row[10])
        cells[8] = float(row[8].replace(",", ".")) if row[8] else None
        return cells

    expected = expected_rows(ideas)
    assert rows == [HEADER, *(typed(expected[k]) for k in ("p1", "p2", "p3", "p6", "p7"))]
    types = {c.data_type for row in sheet.iter_rows(min_row=2) for c in row if isinstance(c.value, str)}
    assert types == {"s"}   # no formula ('f'), and '#N/A' is text, not an error value ('e')


def test_xlsx_drops_characters_xml_cannot_hold(store, tmp_path):
    source = store.sources.sync("blog", "feed", "https://example.org/feed")
    store.posts.upsert(Post(key="k", kind="feed", content_html="", text="bel\x07 mij\x0b"), source.id)
    path = tmp_path / "x.xlsx"
    path.write_bytes(export(store, format="xlsx"))
    assert openpyxl.load_workbook(path).active["C2"].value == "bel mij"


def test_duplicates_count_towards_their_original_and_are_not_rows(store, ideas):
    rows = read_csv(export(store), "excel-nl")[1:]
    ids = [row[0] for row in rows]
    assert str(ideas["p4"]) not in ids and str(ideas["p5"]) not in ids
    assert {row[0]: row[10] for row in rows}[str(ideas["p1"])] == "2"
    # a duplicate whose original was removed is an idea again, with its status
    store.db.execute("DELETE FROM posts WHERE id = ?", [ideas["p1"]])
    store.db.conn.commit()
    rows = read_csv(export(store), "excel-nl")[1:]
    assert {row[0]: row[7] for row in rows if row[0] in (str(ideas["p4"]), str(ideas["p5"]))} == {
        str(ideas["p4"]): "duplicaat", str(ideas["p5"]): "duplicaat"}


@pytest.mark.parametrize(
    ("statuses", "names"),
    [(("duplicaat",), ["p4", "p5"]), (("nieuw", "duplicaat"), ["p1", "p3", "p4", "p5", "p7"])],
)
def test_asking_for_duplicates_by_status_gives_them_rows(store, ideas, statuses, names):
    """A facilitator who ticks Duplicaat wants to see them; their original still counts them."""
    rows = read_csv(export(store, statuses=statuses), "excel-nl")[1:]
    assert [row[0] for row in rows] == [str(ideas[n]) for n in names]
    assert {row[0]: row[7] for row in rows}[str(ideas["p4"])] == "duplicaat"
    if "p1" in names:
        assert {row[0]: row[10] for row in rows}[str(ideas["p1"])] == "2"
    assert store.exports.count(ExportOptions(statuses=statuses).query()) == len(names)


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"statuses": ("nieuw",)}, ["p1", "p3", "p7"]),
        ({"statuses": ("geaccepteerd", "afgewezen")}, ["p2", "p6"]),
        # the editor's themes win over the model's: p6 was rejected without themes
        ({"themes": ("cultuur",)}, ["p1"]),
        ({"themes": ("leiderschap",)}, ["p2"]),
        ({"themes": ("structuur", "samenwerking")}, ["p1", "p3"]),
        # days are Dutch days: p1 was posted 00:30 on 15 May in Amsterdam, 22:30 on 14 May in UTC
        ({"since": "2013-05-15"}, ["p1", "p3", "p6"]),
        ({"until": "2013-05-14"}, ["p2"]),
        ({"since": "2013-05-15", "until": "2013-06-01"}, ["p1", "p3"]),
        ({"sources": ("social-overheid",)}, ["p1"]),
        ({"sources": ("kennisland",), "statuses": ("nieuw",)}, ["p3", "p7"]),
    ],
)
def test_filters(store, ideas, options, names):
    from datetime import date

    for key in ("since", "until"):
        if key in options:
            options[key] = date.fromisoformat(options[key])
    rows = read_csv(export(store, **options), "excel-nl")[1:]
    assert [row[0] for row in rows] == [str(ideas[n]) for n in names]
    assert store.exports.count(ExportOptions(**options).query()) == len(names)


def test_per_theme_gives_one_row_per_idea_per_theme(store, ideas):
    rows = read_csv(export(store, per_theme=True), "excel-nl")
    assert rows[0][1] == "thema"
    assert [(r[0], r[1], r[8]) for r in rows[1:]] == [
        (str(ideas["p1"]), "Cultuur", "0,91"),
        (str(ideas["p2"]), "Leiderschap", "0,3"),
        (str(ideas["p2"]), "Open overheid", "0,81"),
        (str(ideas["p1"]), "Samenwerking", "0,62"),
        (str(ideas["p3"]), "Structuur", "0,7"),
    ]
    only = read_csv(export(store, per_theme=True, themes=("open_overheid",)), "excel-nl")[1:]
    assert [(r[0], r[1]) for r in only] == [(str(ideas["p2"]), "Open overheid")]
    assert store.exports.count(ExportOptions(per_theme=True).query()) == 5


def test_pseudonyms_are_stable_and_name_free(store, ideas):
    secret = SECRET.encode()
    first = export(store, pseudonymize=True, secret=secret)
    assert first == export(store, pseudonymize=True, secret=secret)
    text = first.decode("utf-8-sig")
    for name in ("anne", "Anne", "bob", "carol", "Carol", "spam@", "mastodon.nl/@"):
        assert name not in text
    cells = {row[0]: row for row in read_csv(first, "excel-nl")}
    anne = pseudonym(secret, "anne@mastodon.nl")
    assert cells[str(ideas["p1"])][3] == anne
    assert cells[str(ideas["p1"])][2].endswith("@" + pseudonym(secret, "bob@social.overheid.nl"))
    assert cells[str(ideas["p6"])][2] == f"'@{anne} koop nu goedkope horloges"   # one person, one pseudonym
    assert all(row[5] == "" for row in list(cells.values())[1:])   # links name the author: left out
    other = {row[0]: row for row in read_csv(export(store, pseudonymize=True, secret=b"x" * 32), "excel-nl")}
    assert other[str(ideas["p1"])][3] != anne
    with pytest.raises(ExportError):
        export(store, pseudonymize=True)


def _signed_posts(store) -> dict[str, int]:
    """A toot signed with its author's name and account, and a blog post naming its author, each
    with an editor's note that names someone: the author, and another person by @mention."""
    nl = store.sources.sync("mastodon-nl", "mastodon", "https://mastodon.nl")
    blog = store.sources.sync("loket-blog", "feed", "https://blog.example.nl/feed/")
    text = "Meer ruimte om te experimenteren.\n\nGroet, Jan de Vries (jan@mastodon.nl)"
    toot = Post(key="https://mastodon.nl/users/jan/statuses/1", kind="mastodon", content_html=f"<p>{text}</p>",
                text=text, url="https://mastodon.nl/@jan/1", published_at="2013-05-14T10:00:00+00:00",
                author=Author("jan@mastodon.nl", "Jan de Vries"))
    entry = Post(key="https://blog.example.nl/loket", kind="feed", content_html="", title="Eén loket",
                 text="Eén loket voor iedereen, schrijft KEES VAN DIJK.", url="https://blog.example.nl/loket",
                 published_at="2013-05-15T10:00:00+00:00",
                 author=Author("Kees van Dijk (blog.example.nl)", "Kees van Dijk"))
    store.posts.upsert(toot, nl.id)
    store.posts.upsert(entry, blog.id)
    ids = {name: store.db.execute("SELECT id FROM posts WHERE key = ?", [post.key]).fetchone()[0]
           for name, post in (("toot", toot), ("entry", entry))}
    _review(store, ids["toot"], "accept", note="vraag @piet@mastodon.social of hij meedoet; Jan de Vries mailen")
    _review(store, ids["entry"], "accept", note="@jan@mastodon.nl en Kees van Dijk samen uitnodigen")
    return ids


def test_a_pseudonymised_export_hides_the_authors_name_and_the_notes_mentions(store):
    ids = _signed_posts(store)
    secret = SECRET.encode()
    data = export(store, pseudonymize=True, secret=secret)
    jan, kees = pseudonym(secret, "jan@mastodon.nl"), pseudonym(secret, "Kees van Dijk (blog.example.nl)")
    piet = pseudonym(secret, "piet@mastodon.social")
    cells = {row[0]: row for row in read_csv(data, "excel-nl")}
    toot, entry = cells[str(ids["toot"])], cells[str(ids["entry"])]
    assert (toot[2], toot[3]) == (f"Meer ruimte om te experimenteren.\n\nGroet, {jan} ({jan})", jan)
    assert toot[9] == f"vraag @{piet} of hij meedoet; {jan} mailen"
    assert (entry[2], entry[3]) == (f"Eén loket\n\nEén loket voor iedereen, schrijft {kees}.", kees)
    assert entry[9] == f"'@{jan} en {kees} samen uitnodigen"    # one person, one pseudonym, also in notes
    text = data.decode("utf-8-sig").lower()
    for name in ("jan", "kees", "piet", "vries", "dijk"):
        assert name not in text


def test_an_export_without_pseudonyms_keeps_the_note_as_typed(store):
    ids = _signed_posts(store)
    cells = {row[0]: row for row in read_csv(export(store), "excel-nl")}
    assert cells[str(ids["toot"])][2].endswith("Groet, Jan de Vries (jan@mastodon.nl)")
    assert cells[str(ids["toot"])][9] == "vraag @piet@mastodon.social of hij meedoet; Jan de Vries mailen"
    assert cells[str(ids["entry"])][9] == "'@jan@mastodon.nl en Kees van Dijk samen uitnodigen"


def test_progress_reports_every_row(store, ideas):
    seen: list[int] = []
    count = write_export(store, ExportOptions(), io.BytesIO(), progress=seen.append)
    assert count == sum(seen) == 5


@pytest.mark.parametrize(
    ("stored", "dutch"),
    [
        ("2013-01-10T09:00:00+00:00", "2013-01-10T10:00:00+01:00"),
        ("2013-05-14T22:30:05+00:00", "2013-05-15T00:30:05+02:00"),
        # the night summer time starts (01:00 UTC) and ends (01:00 UTC)
        ("2013-03-31T00:59:59+00:00", "2013-03-31T01:59:59+01:00"),
        ("2013-03-31T01:00:00+00:00", "2013-03-31T03:00:00+02:00"),
        ("2013-10-27T00:59:59+00:00", "2013-10-27T02:59:59+02:00"),
        ("2013-10-27T01:00:00+00:00", "2013-10-27T02:00:00+01:00"),
        # other forms a source may have given
        ("2013-05-14T22:30:00Z", "2013-05-15T00:30:00+02:00"),
        ("2013-05-14T22:30:00.250+00:00", "2013-05-15T00:30:00.250000+02:00"),
        ("1930-05-14T12:00:00+00:00", "1930-05-14T12:19:32+00:19:32"),   # Amsterdam mean time
        (None, None),
    ],
)
def test_dates_are_dutch_time_with_their_offset(stored, dutch):
    assert local_iso(stored) == dutch


def test_a_failing_export_leaves_the_callers_stream_open(store, ideas, monkeypatch):
    rows = store.exports.rows

    def broken(*args, **kw):
        yield from rows(*args, **kw)
        raise OSError("schijf vol")

    monkeypatch.setattr(store.exports, "rows", broken)
    out = io.BytesIO()
    with pytest.raises(OSError, match="schijf vol"):
        write_export(store, ExportOptions(), out)
    assert not out.closed and out.getvalue().startswith(codecs.BOM_UTF8 + b"id;")


def test_grouped_ideas_carry_the_same_group_cell(store, ideas):
    editor = store.users.get("redacteur")
    group = store.groups.group([ideas["p3"], ideas["p1"]], editor)
    rows = {r[0]: r for r in read_csv(export(store), "excel-nl")[1:]}
    cell = f"groep {group}: posts {ideas['p1']}, {ideas['p3']}"
    assert rows[str(ideas["p1"])][-1] == rows[str(ideas["p3"])][-1] == cell
    assert rows[str(ideas["p2"])][-1] == ""
