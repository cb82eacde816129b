"""The concept charter: content per theme in Markdown, ODF text and Word; groups once; plain text only."""

from __future__ import annotations

import io
import zipfile

import pytest
from click.testing import CliRunner
from docx import Document
from docx.oxml.ns import qn
from odf import teletype
from odf.dc import Language
from odf.opendocument import load as load_odt
from odf.style import DefaultStyle, TextProperties
from odf.text import H, P

from harvester.charter import build_charter, charter_format, CharterError, write_charter
from harvester.cli import main
from harvester.privacy.hashing import pseudonym
from harvester.nlp.themes import load_themes

from .charterdata import IDEAS, fill_charter
from .webdata import add_post, add_user
from .conftest import ROOT

THEMES = load_themes(ROOT / "config" / "themes.toml")
LABELS = [t.label for t in THEMES.themes]
SECRET = "een-geheime-sleutel-van-de-test-0123456789"


@pytest.fixture
def ids(store):
    return fill_charter(store)


def test_sections_follow_the_themes_file_and_count_a_group_once(store, ids):
    charter = build_charter(store, THEMES)
    assert [s.label for s in charter.sections] == LABELS
    by_id = {s.id: s for s in charter.sections}
    together = by_id["samenwerking"]
    assert together.count == 1
    assert [i.post_id for i in together.groups[0].ideas] == [ids["lab"], ids["lab2"]]
    assert together.groups[0].group_id is not None
    assert by_id["cultuur"].count == 2      # the group (through lab) and the hostile idea
    assert by_id["open_overheid"].count == 1 and by_id["structuur"].count == 0   # 'nieuw' is not in it
    assert charter.ideas == 3
    assert charter.figures.posts == 5
    first = together.groups[0].ideas[0]
    assert first.author == "Ambtenaar (lab@mastodon.nl)" and first.url == "https://mastodon.example/@a/1"
    assert first.published == "01-11-2026"


def test_a_group_with_one_post_of_the_chosen_statuses_is_one_idea(store, ids):
    store.reviews.decide(ids["lab2"], store.users.get("eva"), 1, "reject", reason="geen_idee")   # still grouped
    assert store.groups.groups_of([ids["lab"], ids["lab2"]])[ids["lab"]] is not None
    charter = build_charter(store, THEMES)
    lab = [g for s in charter.sections for g in s.groups if ids["lab"] in [i.post_id for i in g.ideas]]
    assert lab and all(g.group_id is None and len(g.ideas) == 1 for g in lab)
    assert charter.ideas == 3
    out = io.BytesIO()
    write_charter(charter, "md", out)
    assert "(1 verwante posts" not in out.getvalue().decode()


def test_a_stored_link_that_is_no_web_address_is_no_link_in_the_charter(store, ids):
    """Posts stored before links were checked at harvest may hold any link; the documents get none."""
    store.db.execute("UPDATE posts SET url = 'smb://evil.example/share' WHERE id = ?", [ids["open"]])
    charter = build_charter(store, THEMES)
    (idea,) = [i for s in charter.sections for g in s.groups for i in g.ideas if i.post_id == ids["open"]]
    assert idea.url is None
    for fmt in ("md", "odt", "docx"):
        out = io.BytesIO()
        write_charter(charter, fmt, out)
        data = out.getvalue()
        if fmt != "md":
            data = b"".join(zipfile.ZipFile(io.BytesIO(data)).read(n) for n in zipfile.ZipFile(io.BytesIO(data)).namelist())
        assert b"smb://" not in data, fmt


def test_status_option_takes_other_states_and_refuses_duplicaat(store, ids):
    charter = build_charter(store, THEMES, statuses=("nieuw",))
    assert charter.ideas == 1 and {s.id: s.count for s in charter.sections}["structuur"] == 1
    with pytest.raises(CharterError, match="duplicaat"):
        build_charter(store, THEMES, statuses=("duplicaat",))


def test_pseudonyms_replace_authors_and_drop_links(store, ids):
    charter = build_charter(store, THEMES, secret=SECRET.encode())
    ideas = [i for s in charter.sections for g in s.groups for i in g.ideas]
    assert {i.author for i in ideas} >= {pseudonym(SECRET.encode(), "open@mastodon.nl")}
    assert all(i.url is None for i in ideas) and not any("mastodon.nl" in i.author for i in ideas)


def test_pseudonyms_replace_the_authors_own_name_in_the_idea(store, ids):
    signed = add_post(store, 9, "Eén loket voor iedereen.\nGroet, Jan de Vries (jan@mastodon.nl)",
                      author="jan@mastodon.nl", author_name="Jan de Vries", scores={"open_overheid": 0.9})
    store.reviews.decide(signed, store.users.get("eva"), 0, "accept")
    jan = pseudonym(SECRET.encode(), "jan@mastodon.nl")
    ideas = {i.post_id: i for s in build_charter(store, THEMES, secret=SECRET.encode()).sections
             for g in s.groups for i in g.ideas}
    assert (ideas[signed].text, ideas[signed].author) == (f"Eén loket voor iedereen.\nGroet, {jan} ({jan})", jan)
    plain = {i.post_id: i for s in build_charter(store, THEMES).sections for g in s.groups for i in g.ideas}
    assert plain[signed].text.endswith("Groet, Jan de Vries (jan@mastodon.nl)")


def test_markdown_escapes_harvested_markup(store, ids):
    out = io.BytesIO()
    write_charter(build_charter(store, THEMES), "md", out)
    text = out.getvalue().decode()
    for label in LABELS:
        assert f"\n## {label}\n" in text
    assert "\\<b\\>vet\\</b\\>" in text and "\\*nadruk\\*" in text and "\\[een link\\](http://evil.example)" in text
    assert "<b>" not in text and "\n> \\# geen kop" in text
    assert IDEAS["open"].replace(",", ",") in text and "<https://mastodon.example/@a/3>" in text


def odt_text(data: bytes) -> tuple[list[str], list[str]]:
    doc = load_odt(io.BytesIO(data))
    headings = [teletype.extractText(h) for h in doc.getElementsByType(H)]
    paragraphs = [teletype.extractText(p) for p in doc.getElementsByType(P)]
    return headings, paragraphs


def test_odt_holds_every_theme_heading_and_the_ideas_as_text(store, ids):
    out = io.BytesIO()
    write_charter(build_charter(store, THEMES), "odt", out)
    assert zipfile.ZipFile(io.BytesIO(out.getvalue())).read("mimetype") == b"application/vnd.oasis.opendocument.text"
    headings, paragraphs = odt_text(out.getvalue())
    assert [h for h in headings if not h.startswith("Idee")] == LABELS
    assert IDEAS["lab"] in paragraphs and "1 idee" in paragraphs
    assert "Kop <b>vet</b> en *nadruk* met [een link](http://evil.example) en =SOM(A1)\n# geen kop" in paragraphs
    content = zipfile.ZipFile(io.BytesIO(out.getvalue())).read("content.xml").decode()
    assert "<b>" not in content and "&lt;b&gt;vet" in content


def test_docx_holds_every_theme_heading_and_the_ideas_as_text(store, ids):
    out = io.BytesIO()
    write_charter(build_charter(store, THEMES), "docx", out)
    doc = Document(io.BytesIO(out.getvalue()))
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert headings == LABELS
    texts = [p.text for p in doc.paragraphs]
    assert IDEAS["open"] in texts and any(t.startswith("\u2068Ambtenaar (open@mastodon.nl)\u2069") for t in texts)
    assert "Kop <b>vet</b> en *nadruk* met [een link](http://evil.example) en =SOM(A1)\n# geen kop" in texts


def test_word_and_odf_say_their_text_is_dutch(store, ids):
    """The language every style inherits (what a spelling check reads), not only the metadata's
    (LibreOffice's reading: test_charter_libreoffice.py)."""
    charter = build_charter(store, THEMES)
    out = io.BytesIO()
    write_charter(charter, "docx", out)
    doc = Document(io.BytesIO(out.getvalue()))
    assert [lang.get(qn("w:val")) for lang in doc.styles.element.xpath(".//w:lang")] == ["nl-NL"]
    assert doc.core_properties.language == "nl-NL"
    out = io.BytesIO()
    write_charter(charter, "odt", out)
    odt = load_odt(io.BytesIO(out.getvalue()))
    [default] = [s for s in odt.styles.getElementsByType(DefaultStyle) if s.getAttribute("family") == "paragraph"]
    [text] = default.getElementsByType(TextProperties)
    assert (text.getAttribute("language"), text.getAttribute("country")) == ("nl", "NL")
    assert [teletype.extractText(e) for e in odt.meta.getElementsByType(Language)] == ["nl-NL"]


def test_characters_xml_cannot_hold_never_reach_the_xml(store, ids):
    """A post stored with a NUL, a bell or the noncharacters U+FFFF and U+FFFE (pasted from a PDF;
    `tidy` drops them from new posts): Word and ODF get the text without them, not a crash."""
    with store.db.conn:
        store.db.execute("UPDATE posts SET text = ? WHERE id = ?",
                         ["Nul\x00 en bel\x07 weg\uffff, uit een pdf\ufffe", ids["open"]])
        store.db.execute("UPDATE authors SET display_name = ? WHERE key = ?", ["Ambtenaar\uffff", "open@mastodon.nl"])
    charter = build_charter(store, THEMES)
    out = io.BytesIO()
    write_charter(charter, "docx", out)
    texts = [p.text for p in Document(io.BytesIO(out.getvalue())).paragraphs]
    assert "Nul en bel weg, uit een pdf" in texts and any(t.startswith("\u2068Ambtenaar (open@mastodon.nl)\u2069") for t in texts)
    out = io.BytesIO()
    write_charter(charter, "odt", out)
    assert "Nul en bel weg, uit een pdf" in odt_text(out.getvalue())[1]   # not U+FFFD, as odfpy would write


def test_a_right_to_left_name_keeps_the_date_and_link_after_it_in_order(store, ids):
    """An author name with an unclosed right-to-left override (U+202E), or in Arabic script, would
    turn the rest of its credit line around ("6202-11-30" and a reversed link): the name is isolated
    (U+2068 ... U+2069), as the review app puts it in <bdi>."""
    override = "\u202eAmbtenaar"
    with store.db.conn:
        store.db.execute("UPDATE authors SET display_name = ? WHERE key = ?", [override, "open@mastodon.nl"])
    line = f"\u2068{override} (open@mastodon.nl)\u2069 · 03-11-2026 · https://mastodon.example/@a/3"
    charter = build_charter(store, THEMES)
    out = io.BytesIO()
    write_charter(charter, "docx", out)
    assert line in [p.text for p in Document(io.BytesIO(out.getvalue())).paragraphs]
    out = io.BytesIO()
    write_charter(charter, "odt", out)
    assert line in odt_text(out.getvalue())[1]
    out = io.BytesIO()
    write_charter(charter, "md", out)
    assert f"\n— \u2068{override} (open@mastodon.nl)\u2069 · 03-11-2026 · <https://mastodon.example/@a/3>\n" in out.getvalue().decode()


def test_format_follows_the_extension():
    assert [charter_format(n) for n in ("a.md", "b.ODT", "c.docx")] == ["md", "odt", "docx"]
    with pytest.raises(CharterError, match=".md, .odt, .docx"):
        charter_format("charter.pdf")


def test_cli_writes_the_charter_and_refuses_a_pdf(ids, write_config, tmp_path):
    config = write_config(f'[nlp]\nthemes = "{ROOT / "config" / "themes.toml"}"\n')
    out = tmp_path / "charter.docx"
    result = CliRunner().invoke(main, ["charter", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 ideeën" in result.output and Document(str(out)).paragraphs
    result = CliRunner().invoke(main, ["charter", "--config", str(config), "--out", str(tmp_path / "c.pdf")])
    assert result.exit_code == 2 and "eindigt op" in result.output and not (tmp_path / "c.pdf").exists()


def test_cli_counts_ideas_and_the_themes_that_hold_them(store, write_config, tmp_path):
    """The closing line counts the themes with ideas ("Zonder thema" is none), nouns in the right number."""
    config = write_config(f'[nlp]\nthemes = "{ROOT / "config" / "themes.toml"}"\n')
    out = tmp_path / "charter.md"

    def closing_line() -> str:
        result = CliRunner().invoke(main, ["charter", "--config", str(config), "--out", str(out)])
        assert result.exit_code == 0, result.output
        return result.output

    editor = add_user(store, "eva", "redacteur")
    alone = add_post(store, 1, "Eén loket voor alle vergunningen.", scores={})
    store.reviews.decide(alone, editor, 0, "accept")
    assert closing_line() == f"conceptcharter met 1 idee (zonder thema) geschreven naar {out}\n"
    store.reviews.decide(add_post(store, 2, "Open data als standaard.", scores={"open_overheid": 0.9}), editor, 0, "accept")
    assert closing_line() == f"conceptcharter met 2 ideeën (1 zonder thema) in 1 thema geschreven naar {out}\n"
    store.reviews.decide(alone, editor, 1, "set_themes", themes=["cultuur", "structuur"])
    assert closing_line() == f"conceptcharter met 2 ideeën in 3 thema's geschreven naar {out}\n"


def test_cli_and_app_pseudonymize_with_the_configured_key(ids, write_config, tmp_path, monkeypatch):
    """--pseudonymize (and the app's tick box) read the key from the variable [privacy] secret_env names."""
    from harvester.store import Store

    from .test_web_security import own_site
    from .webdata import login, write_web_config

    monkeypatch.setenv("TEST_CHARTER_SECRET", SECRET)
    config = write_config(f'[nlp]\nthemes = "{ROOT / "config" / "themes.toml"}"\n'
                          '[privacy]\nsecret_env = "TEST_CHARTER_SECRET"\n')
    out = tmp_path / "charter.md"
    result = CliRunner().invoke(main, ["charter", "--config", str(config), "--out", str(out), "--pseudonymize"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert pseudonym(SECRET.encode(), "open@mastodon.nl") in text and "open@mastodon.nl" not in text

    monkeypatch.setenv("HARVESTER_SECRET", SECRET)
    (tmp_path / "web").mkdir()
    web = write_web_config(tmp_path / "web")
    with Store(web.db_path) as store:
        fill_charter(store)
    with own_site(web) as c:
        login(c, "eva")
        response = c.get("/charter/download", params={"format": "docx", "status": "geaccepteerd", "pseudonymize": "1"})
        assert response.status_code == 200
        body = "\n".join(p.text for p in Document(io.BytesIO(response.content)).paragraphs)
        assert pseudonym(SECRET.encode(), "open@mastodon.nl") in body and "open@mastodon.nl" not in body
        # without the key an editor reads what to do, not a shell command
        monkeypatch.delenv("HARVESTER_SECRET")
        response = c.get("/charter/download", params={"format": "odt", "pseudonymize": "1"})
        assert response.status_code == 400 and "Vraag de beheerder" in response.text
        assert "export HARVESTER_SECRET" not in response.text and "python3" not in response.text


def test_the_app_offers_the_charter_as_a_download(tmp_path):
    from harvester.store import Store

    from .test_web_security import own_site
    from .webdata import login, write_web_config

    config = write_web_config(tmp_path)
    with Store(config.db_path) as store:
        fill_charter(store)
        store.users.add("lex", "lezer", store.users.password_hash(store.users.get("eva").id))
    with own_site(config) as c:
        login(c, "lex")
        assert 'action="/charter/download"' in c.get("/charter").text
        response = c.get("/charter/download", params={"format": "docx", "status": "geaccepteerd"})
        assert response.status_code == 200
        assert response.headers["content-disposition"].endswith('.docx"')
        doc = Document(io.BytesIO(response.content))
        assert [p.text for p in doc.paragraphs if p.style.name == "Heading 1"] == LABELS
        assert c.get("/charter/download", params={"format": "pdf"}).status_code == 400


def test_a_group_with_a_themed_post_is_not_also_an_idea_without_a_theme(store):
    """Two accepted posts grouped as one idea, one with a theme and one without: the idea has its
    theme, so it is listed under it only, as the overview counts it, and the closing line agrees."""
    editor = add_user(store, "eva", "redacteur")
    themed = add_post(store, 1, "Proeftuinen per gemeente voor nieuwe diensten.", author="a@x.nl", scores={"cultuur": 0.9})
    plain = add_post(store, 2, "Laat gemeenten proeftuinen beginnen.", author="b@x.nl", scores={"cultuur": 0.2})
    for post in (themed, plain):
        store.reviews.decide(post, editor, 0, "accept")
    store.groups.group([themed, plain], editor)
    charter = build_charter(store, THEMES)
    assert [(s.id, [[i.post_id for i in g.ideas] for g in s.groups]) for s in charter.sections if s.groups] == [
        ("cultuur", [[themed, plain]])]
    assert (charter.ideas, charter.unthemed, charter.themes_with_ideas) == (1, 0, 1)
