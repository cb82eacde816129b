"""Control characters never break an export or hide a formula (issue 16, points 3 and 4).

A feed that is not well-formed keeps a NUL byte in a title (feedparser's loose mode), a U+FFFF
(which XML, so XLSX, cannot hold) and a control character in front of a formula; an editor's
note holds a NUL. They come in over real
HTTP through the harvest loop (which cleans them since issue 16; the titles are then put back as
a post stored before that holds them), and go out through `write_export` as CSV in both dialects and as
XLSX, read back with Python's csv module and openpyxl (LibreOffice: test_export_libreoffice.py).
"""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest

from harvester.config import load_config
from harvester.export import HEADER, ExportOptions, write_export
from harvester.jobs.harvest import run_sources

from .localserver import Reply

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
EVIL = '=HYPERLINK("https://evil.example","x")'
# formulas that start a cell only for a spreadsheet reading the file with another separator than
# its own: after ',' or ';' (after quotes, or after spaces that LibreOffice's "trim spaces" takes
# off), and text that must stay as it is
SPLITS = 'Goed idee,=2+3;=7*6, @SUM(1;2),"=3+3" en, =4+4; - zegt Piet'
SPLITS_DEFUSED = "Goed idee,'=2+3;'=7*6, @SUM(1;2),'\"=3+3\" en,' =4+4; - zegt Piet"
# three entries, the last harmless: a feed that is not well-formed loses a last entry that may be cut off
FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Blog</title><link>https://blog.example/</link>
<item><guid>https://blog.example/nul</guid><link>https://blog.example/nul</link>
  <title>Idee\x00 met NUL\xef\xbf\xbf; "quotes" #innoverheid</title><description>tekst na de titel</description>
  <pubDate>Tue, 14 May 2013 22:30:00 GMT</pubDate></item>
<item><guid>https://blog.example/evil</guid><link>https://blog.example/evil</link>
  <title>\x01""" + EVIL.encode() + b"""</title><description>#innoverheid \x0bklik\x1b hier</description></item>
<item><guid>https://blog.example/splits</guid><link>https://blog.example/splits</link>
  <title>""" + SPLITS.encode() + b"""</title><description>#innoverheid</description></item>
<item><guid>https://blog.example/gewoon</guid><link>https://blog.example/gewoon</link>
  <title>Gewoon #innoverheid</title><description>niets bijzonders</description></item>
<item><guid>https://blog.example/laatste</guid><link>https://blog.example/laatste</link>
  <title>Laatste #innoverheid</title><description>wellicht afgekapt</description></item>
</channel></rss>"""
NOTE = "notitie\x00 met NUL; nog \"meer\"\r\nregel twee"
# a line break in quotes ends the row for a reader with another separator; a tab ends a cell for one with tab
SPLITS_NOTE = "lijstje:\n- meer ruimte\n=5+5\tnaam\t+6+6\r\n@SUM(1)"
SPLITS_NOTE_DEFUSED = "lijstje:\n'- meer ruimte\n'=5+5\tnaam\t'+6+6\r\n'@SUM(1)"
# control characters but tab, LF and CR, and the two noncharacters XML 1.0 cannot hold
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def harvest_hostile(server, store, write_config) -> dict[str, int]:
    """Harvest FEED from the local server and add the editor's note; returns post ids by guid's end."""
    server.route("/feed.rss", Reply(200, FEED, RSS))
    config = load_config(write_config(
        f'\n[[sources]]\nname = "blog"\ntype = "feed"\nurl = "{server.url("/feed.rss")}"\nmatch = "tags"\n'))
    [result] = run_sources(store, config, config.sources)
    assert result.status == "partial"   # not well-formed, as the feed
    ids = {key.rsplit("/", 1)[1]: post_id for post_id, key in store.db.execute("SELECT id, key FROM posts")}
    titles = dict(store.db.execute("SELECT id, title FROM posts").fetchall())
    # the harvest cleans titles now (normalize.tidy); a post stored before it did still holds them,
    # and the export must be safe for it as well
    assert not CONTROL.search(titles[ids["nul"]] + titles[ids["evil"]])
    with store.db.conn:
        store.db.execute("UPDATE posts SET title = ? WHERE id = ?",
                         ['Idee\x00 met NUL\uffff; "quotes" #innoverheid\ufffe', ids["nul"]])
        store.db.execute("UPDATE posts SET title = ? WHERE id = ?", ["\x01" + EVIL, ids["evil"]])
    editor = store.users.add("redacteur", "redacteur", "niet-gebruikt")
    store.reviews.decide(ids["gewoon"], editor, 0, "note", note=NOTE)
    store.reviews.decide(ids["splits"], editor, 0, "note", note=SPLITS_NOTE)
    return ids


@pytest.fixture
def hostile(server, store, write_config):
    return harvest_hostile(server, store, write_config)


def export(store, **options) -> bytes:
    out = io.BytesIO()
    write_export(store, ExportOptions(**options), out)
    return out.getvalue()


def assert_safe(rows: list[list], ids: dict[str, int], line_break: str = "\r\n", *, inside: bool = True) -> None:
    """Every row whole, no control characters, every formula defused; the hostile cells as meant
    (`inside`: also where another separator could start a cell, as CSV needs and XLSX does not)."""
    assert rows[0] == HEADER
    assert sorted(int(row[0]) for row in rows[1:]) == sorted(ids.values())
    assert all(len(row) == len(HEADER) for row in rows)
    by_id = {int(row[0]): row for row in rows[1:]}
    for row in rows[1:]:
        for cell in row:
            if isinstance(cell, str):
                assert not CONTROL.search(cell), row
                assert not cell.startswith(tuple("=+-@\t\r")), row
    assert by_id[ids["nul"]][2] == 'Idee met NUL; "quotes" #innoverheid\n\ntekst na de titel'
    assert by_id[ids["evil"]][2] == "'" + EVIL + "\n\n#innoverheid klik hier"
    assert by_id[ids["gewoon"]][9] == f'notitie met NUL; nog "meer"{line_break}regel twee'
    splits, note = (SPLITS_DEFUSED, SPLITS_NOTE_DEFUSED) if inside else (SPLITS, SPLITS_NOTE)
    assert by_id[ids["splits"]][2] == splits + "\n\n#innoverheid"
    assert by_id[ids["splits"]][9] == note.replace("\r\n", line_break)


@pytest.mark.parametrize(("dialect", "delimiter", "bom"), [("excel-nl", ";", "\ufeff"), ("rfc4180", ",", "")])
def test_csv_in_both_dialects_reads_back_whole_and_defused(store, hostile, dialect, delimiter, bom):
    text = export(store, dialect=dialect).decode("utf-8")
    assert text.startswith(bom) and "\x00" not in text
    assert_safe(list(csv.reader(io.StringIO(text[len(bom):], newline=""), delimiter=delimiter)), hostile)


def formula_cells(rows: list[list[str]]) -> list[str]:
    """Cells a spreadsheet could read as a formula: = + - @ first, behind any quotes it takes off as
    text delimiters, '=' also behind spaces (LibreOffice's "trim spaces")."""
    return [cell for row in rows for cell in row
            if cell.lstrip('"')[:1] in ("=", "+", "-", "@") or cell.lstrip(' "')[:1] == "="]


@pytest.mark.parametrize(("dialect", "delimiter"), [("excel-nl", ","), ("excel-nl", "\t"), ("rfc4180", ";"), ("rfc4180", "\t")])
def test_csv_read_with_another_separator_starts_no_formula(store, hostile, dialect, delimiter):
    """A facilitator's spreadsheet may split the file on another list separator than its own: a
    ',' ';' or tab inside a text then starts a cell, and a line break in quotes it no longer sees
    starts a row. Python's reader, like LibreOffice's (test_export_libreoffice.py), takes quotes
    as delimiters only at the start of a cell."""
    text = export(store, dialect=dialect).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    assert len(rows) > 1 + len(hostile)   # split, as the facilitator would see it
    assert formula_cells(rows) == []
    # what splits it is there as written: ", - zegt Piet" and the list's dashes
    assert ' - zegt Piet' in text and "\n'- meer ruimte" in text


def test_xlsx_reads_back_whole_and_defused(store, hostile):
    sheet = openpyxl.load_workbook(io.BytesIO(export(store, format="xlsx"))).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    # XML reads a bare CR as LF (line-end normalisation): with the standard library's writer the
    # note's CR LF comes back as LF; lxml (there when python-docx is) writes &#13; and keeps it
    rows = [[v.replace("\r\n", "\n") if isinstance(v, str) else v for v in row] for row in rows]
    assert_safe([[str(v) if isinstance(v, int) else v for v in row] for row in rows], hostile, "\n", inside=False)
    assert {c.data_type for row in sheet.iter_rows(min_row=2) for c in row if isinstance(c.value, str)} == {"s"}


def test_raw_is_cleaned_too_but_not_defused(store, hostile):
    rows = list(csv.reader(io.StringIO(export(store, dialect="rfc4180", raw=True).decode("utf-8"), newline="")))
    assert len(rows) == 1 + len(hostile)
    by_id = {int(row[0]): row for row in rows[1:]}
    assert by_id[hostile["evil"]][2] == EVIL + "\n\n#innoverheid klik hier"


@pytest.mark.parametrize(
    ("value", "cleaned", "defused"),
    [
        ("\x01=1+1", "=1+1", "'=1+1"),
        ("\x00-2", "-2", "'-2"),
        ("\x1b@SUM(A1)", "@SUM(A1)", "'@SUM(A1)"),
        ("\r\n=1", "\r\n=1", "'\r\n'=1"),      # CR is kept (line breaks), defused at the start and before '='
        ("\r=1", "\r=1", "'\r'=1"),
        ("a\rb\r\nc\x00\nd", "a\rb\r\nc\nd", "a\rb\r\nc\nd"),
        ("\t=1", "\t=1", "'\t'=1"),         # tab stays, and is defused; read with tab, '=1' is a cell
        ("\x85\x7f+31", "+31", "'+31"),      # C1 controls and DEL too
        ("idee\u200b\u202e", "idee\u200b\u202e", "idee\u200b\u202e"),   # format characters are not control characters
        ("\uffff=1\ufffe", "=1", "'=1"),   # noncharacters XML cannot hold
        ("idee \ufdd0\U0001ffff", "idee \ufdd0\U0001ffff", "idee \ufdd0\U0001ffff"),   # those it can stay
    ],
)
def test_writable_then_defuse(value, cleaned, defused):
    from harvester.export import defuse
    from harvester.normalize import writable

    assert writable(value) == cleaned
    assert defuse(writable(value)) == defused


@pytest.mark.parametrize(
    ("value", "defused"),
    [
        ("Goed idee,=2+3", "Goed idee,'=2+3"),          # read with ',' a cell starts after the comma
        ("Ander idee;-7*6", "Ander idee;'-7*6"),
        ("a\t@SUM(1)", "a\t'@SUM(1)"),
        ("regel\n+1", "regel\n'+1"),                   # a line break in quotes may end a row
        ('citaat,"=1+1"', 'citaat,\'"=1+1"'),            # the quote is taken off as a delimiter
        ('a;""-1', "a;'\"\"-1"),
        ("spatie, =1+1", "spatie,' =1+1"),              # LibreOffice's "trim spaces" takes the space off
        (" =1", "' =1"),
        ('"=1', "'\"=1"),
        ("Goed idee, - zegt Piet", "Goed idee, - zegt Piet"),   # '-' or '+' after a space is text
        ("a, +1; @x", "a, +1; @x"),
        ("café-overleg; 3-2=1, 2+2", "café-overleg; 3-2=1, 2+2"),
        ("e-mail@gemeente.nl", "e-mail@gemeente.nl"),
    ],
)
def test_defuse_where_another_separator_starts_a_cell(value, defused):
    from harvester.export import defuse

    assert defuse(value) == defused
