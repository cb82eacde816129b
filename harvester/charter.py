"""The concept charter: the reviewed ideas as a document for the drafting team (.md, .odt, .docx).

`build_charter` gathers what the document says: a title page with the date and the headline
figures, then per theme (in the order of the themes file) its label and description, the number
of ideas (a group of related posts counts once) and the ideas, each group with its most
representative post first, each post with its author (or pseudonym) and link. The writers turn
that into Markdown, ODF text (odfpy) or Word (python-docx); ODF and Word say their text is Dutch
(`LANGUAGE`), so a spelling check reads it as such. Harvested text stays plain text in
every format: Markdown escapes its markup characters, ODF and Word get it as text nodes, never as
markup, and the characters XML cannot hold (`normalize.writable`) are dropped, also from posts
stored before `tidy` dropped them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from .dutch import counted
from .errors import UsageError
from .export import AMSTERDAM, author_cell, author_pseudonym, local_iso, pseudonymize_mentions
from .models import ExportQuery, Status
from .normalize import http_url, writable
from .nlp.themes import ThemeSet
from .related import representative_order
from .store import Store
from .store.movement import Figures
from .movement import ALL_TIME

FORMATS = ("md", "odt", "docx")
TITLE = "Concept charter innovatieve overheid"
LANGUAGE = ("nl", "NL")   # the documents' text: Dutch as written in the Netherlands (BCP 47, ODF's language and country)
NO_THEME = "Zonder thema"
MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
          "oktober", "november", "december"]


class CharterError(UsageError):
    """Options that cannot make a charter; the message (Dutch) is shown as it is."""


@dataclass(frozen=True)
class Idea:
    post_id: int
    text: str               # title, blank line, text; writable (`normalize.writable`)
    author: str             # name, account, or pseudonym ('' unknown)
    url: str | None         # None with pseudonyms: a post's link names its author
    published: str | None   # Dutch time, 'dd-mm-jjjj'


@dataclass(frozen=True)
class IdeaGroup:
    group_id: int | None    # None: a post in no group
    ideas: list[Idea]       # the most representative first


@dataclass
class ThemeSection:
    id: str
    label: str
    description: str
    groups: list[IdeaGroup] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Ideas in this theme: a group once."""
        return len(self.groups)


@dataclass(frozen=True)
class Charter:
    made_at: datetime       # Dutch time
    statuses: tuple[str, ...]
    figures: Figures        # the whole harvest, as on the overview
    ideas: int              # ideas in this document (a group once, a post in two themes once)
    sections: list[ThemeSection]

    @property
    def themes_with_ideas(self) -> int:
        """Themes that hold at least one idea; "Zonder thema" is no theme."""
        return sum(1 for s in self.sections if s.id and s.groups)

    @property
    def unthemed(self) -> int:
        """Ideas in "Zonder thema"."""
        return sum(s.count for s in self.sections if not s.id)


def dutch_date(moment: datetime) -> str:
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def build_charter(store: Store, themes: ThemeSet, *, statuses: tuple[str, ...] = (Status.ACCEPTED,),
                  secret: bytes | None = None, now: datetime | None = None) -> Charter:
    """The charter of the ideas in `statuses`; with `secret`, authors and mentions as pseudonyms (as in a
    pseudonymised export, also the author's own name in the text) and no links."""
    for status in statuses:
        if not Status.has(status) or status == Status.DUPLICATE:
            raise CharterError(f"onbekende of onbruikbare status {status!r} (kies uit: "
                               f"{', '.join(s for s in Status if s != Status.DUPLICATE)})")
    made_at = (now or datetime.now(AMSTERDAM)).astimezone(AMSTERDAM)
    sections = {t.id: ThemeSection(t.id, t.label, " ".join(t.description.split())) for t in themes.themes}
    ideas: dict[int, Idea] = {}
    theme_posts: dict[str, list[int]] = {}
    for row in store.exports.rows(ExportQuery(statuses=statuses, per_theme=True)):
        if row.post_id not in ideas:
            ideas[row.post_id] = _idea(row, secret)
        theme_posts.setdefault(row.themes, []).append(row.post_id)
    themed = {p for posts in theme_posts.values() for p in posts}
    unthemed = []
    for row in store.exports.rows(ExportQuery(statuses=statuses)):
        if row.post_id not in themed:
            ideas[row.post_id] = _idea(row, secret)
            unthemed.append(row.post_id)
    group_of = store.groups.groups_of(list(ideas))
    members: dict[int, list[int]] = {}
    for post_id, group_id in sorted(group_of.items()):
        members.setdefault(group_id, []).append(post_id)
    # a group with one post of these statuses (the others not yet accepted, or rejected) is that
    # one post here: "1 verwante posts" would announce an idea shared by nobody else
    members = {g: posts for g, posts in members.items() if len(posts) > 1}
    group_of = {p: g for p, g in group_of.items() if g in members}
    # a post without a theme in a group with one is part of that idea, listed whole under its themes
    themed_groups = {group_of[p] for p in themed if p in group_of}
    unthemed = [p for p in unthemed if group_of.get(p) not in themed_groups]
    if unthemed:
        theme_posts[""] = unthemed
        sections[""] = ThemeSection("", NO_THEME, "Ideeën waaraan (nog) geen thema is gegeven.")
    for theme in theme_posts:
        sections.setdefault(theme, ThemeSection(theme, theme, "(Niet in het themabestand.)"))
    indexed = store.related.indexed()
    ordered = {g: representative_order(store, posts, indexed) for g, posts in members.items()}
    for theme, posts in theme_posts.items():
        seen: set[int] = set()
        for post_id in posts:
            group_id = group_of.get(post_id)
            if group_id is None:
                sections[theme].groups.append(IdeaGroup(None, [ideas[post_id]]))
            elif group_id not in seen:
                seen.add(group_id)
                sections[theme].groups.append(IdeaGroup(group_id, [ideas[p] for p in ordered[group_id]]))
    count = len({group_of.get(p, -p) for p in ideas})
    figures = store.movement.figures([ALL_TIME])[0]
    return Charter(made_at, tuple(statuses), figures, count, list(sections.values()))


def _idea(row, secret: bytes | None) -> Idea:
    text = f"{row.title}\n\n{row.text}" if row.title else row.text
    if secret:
        author, scrub = author_pseudonym(row.author_key, row.author_name, secret, row.author_handle)
        text = scrub(pseudonymize_mentions(text, secret))
    else:
        author = author_cell(row.author_key, row.author_name, None, row.author_handle)
    published = local_iso(row.published_at)
    return Idea(row.post_id, writable(text).strip(), writable(author), None if secret else http_url(row.url),
                f"{published[8:10]}-{published[5:7]}-{published[:4]}" if published else None)


# ---- the text every format shares --------------------------------------------------------------

STATUS_WORDS = {Status.ACCEPTED: "geaccepteerde", Status.NEW: "nog niet beoordeelde", Status.REJECTED: "afgewezen"}


def subtitle(charter: Charter) -> str:
    return (f"Concept, gemaakt op {dutch_date(charter.made_at)} om {charter.made_at:%H:%M} (Nederlandse tijd), "
            f"uit de {' en '.join(STATUS_WORDS.get(s, s) for s in charter.statuses)} ideeën van #innoverheid.")


def figure_lines(charter: Charter) -> list[str]:
    f = charter.figures
    return [f"Ideeën in dit document: {charter.ideas} (verwante posts die als één idee zijn gemarkeerd tellen één keer)",
            f"Posts verzameld: {f.posts}", f"Ideeën in totaal: {f.ideas}, waarvan geaccepteerd: {f.accepted}",
            f"Auteurs: {f.authors}", f"Mastodon-servers: {f.instances}", f"Websites: {f.sites}",
            f"Initiatieven genoemd: {f.initiatives}"]


def count_line(section: ThemeSection) -> str:
    return counted(section.count, "idee", "ideeën")


def group_heading(n: int, group: IdeaGroup) -> str:
    if group.group_id is None:
        return f"Idee {n}"
    return f"Idee {n} ({counted(len(group.ideas), 'verwante post', 'verwante posts')}; de meest kenmerkende eerst)"


def credit(idea: Idea) -> str:
    """'Name (account) · 14-05-2013': the name isolated (U+2068 ... U+2069, as the app's <bdi>), so
    a right-to-left name, or an override in it, does not turn the date and link after it around."""
    parts = [f"\u2068{idea.author}\u2069" if idea.author else "onbekende auteur"]
    if idea.published:
        parts.append(idea.published)
    return " · ".join(parts)


# ---- Markdown ----------------------------------------------------------------------------------

# CommonMark lets a backslash escape any ASCII punctuation; these start markup anywhere in a line
_INLINE = re.compile(r"([\\`*_\[\]<>#|~!&])")
# and these only at the start of a line: a list, a heading underline, a quote, a numbered list
_LINE_START = re.compile(r"^(\s*\d*)([-+=>.)])")
_SAFE_URL = re.compile(r"https?://[^\s<>\"'\\`]+")


def md_text(value: str) -> str:
    escaped = _INLINE.sub(r"\\\1", value)
    return "\n".join(_LINE_START.sub(r"\1\\\2", line) for line in escaped.split("\n"))


def md_link(url: str) -> str:
    return f"<{url}>" if _SAFE_URL.fullmatch(url) else md_text(url)


def write_markdown(charter: Charter, out: BinaryIO) -> None:
    lines = [f"# {TITLE}", "", md_text(subtitle(charter)), ""]
    lines += [f"- {md_text(line)}" for line in figure_lines(charter)] + [""]
    for section in charter.sections:
        lines += [f"## {md_text(section.label)}", "", md_text(section.description), "", f"*{count_line(section)}*", ""]
        for n, group in enumerate(section.groups, 1):
            lines += [f"### {md_text(group_heading(n, group))}", ""]
            for idea in group.ideas:
                lines += ["> " + md_text(line) if line.strip() else ">" for line in idea.text.splitlines()]
                lines += ["", f"— {md_text(credit(idea))}" + (f" · {md_link(idea.url)}" if idea.url else ""), ""]
    out.write("\n".join(lines).encode("utf-8"))


# ---- ODF text (odfpy) ------------------------------------------------------------------------

def write_odt(charter: Charter, out: BinaryIO) -> None:
    from odf import teletype
    from odf.dc import Language
    from odf.opendocument import OpenDocumentText
    from odf.style import DefaultStyle, ParagraphProperties, Style, TextProperties
    from odf.text import A, H, P

    doc = OpenDocumentText()
    # the text's language, which every paragraph style inherits: the spelling check reads Dutch
    # (without it, the language of whoever opens the file); and the document's own
    dutch = DefaultStyle(family="paragraph")
    dutch.addElement(TextProperties(language=LANGUAGE[0], country=LANGUAGE[1]))
    doc.styles.addElement(dutch)
    doc.meta.addElement(Language(text="-".join(LANGUAGE)))
    styles = {}
    for name, size, bold, level in (("Title", "24pt", True, None), ("Heading_20_1", "18pt", True, 1),
                                    ("Heading_20_2", "13pt", True, 2)):
        style = Style(name=name, family="paragraph", defaultoutlinelevel=level)
        style.addElement(TextProperties(fontsize=size, fontweight="bold" if bold else "normal"))
        style.addElement(ParagraphProperties(margintop="0.4cm", marginbottom="0.2cm", keepwithnext="always"))
        doc.styles.addElement(style)
        styles[name] = style
    quote = Style(name="Idea", family="paragraph")
    quote.addElement(ParagraphProperties(marginleft="0.8cm", margintop="0.1cm"))
    small = Style(name="Credit", family="paragraph")
    small.addElement(TextProperties(fontsize="9pt", color="#4b5563"))
    small.addElement(ParagraphProperties(marginleft="0.8cm", marginbottom="0.3cm"))
    for style in (quote, small):
        doc.styles.addElement(style)

    def para(text: str, style=None) -> P:
        element = P(stylename=style) if style is not None else P()
        teletype.addTextToElement(element, text)
        return element

    def heading(text: str, level: int) -> H:
        element = H(outlinelevel=level, stylename=styles[f"Heading_20_{level}"])
        teletype.addTextToElement(element, text)
        return element

    body = doc.text
    body.addElement(para(TITLE, styles["Title"]))
    body.addElement(para(subtitle(charter)))
    for line in figure_lines(charter):
        body.addElement(para(line))
    for section in charter.sections:
        body.addElement(heading(section.label, 1))
        body.addElement(para(section.description))
        body.addElement(para(count_line(section)))
        for n, group in enumerate(section.groups, 1):
            body.addElement(heading(group_heading(n, group), 2))
            for idea in group.ideas:
                for block in idea.text.split("\n\n"):
                    body.addElement(para(block, quote))
                line = para(credit(idea) + (" · " if idea.url else ""), small)
                if idea.url:
                    link = A(href=idea.url, type="simple")
                    teletype.addTextToElement(link, idea.url)
                    line.addElement(link)
                body.addElement(line)
    doc.write(out)


# ---- Word (python-docx) ----------------------------------------------------------------------

def write_docx(charter: Charter, out: BinaryIO) -> None:
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor
    from docx.text.paragraph import Paragraph

    doc = Document()
    doc.core_properties.title = TITLE
    doc.core_properties.language = "-".join(LANGUAGE)
    # the text's language is not the metadata's: Word proofreads by the run properties every style
    # inherits (w:docDefaults), and python-docx's template says en-US there
    [lang] = doc.styles.element.xpath("w:docDefaults/w:rPrDefault/w:rPr/w:lang")
    lang.set(qn("w:val"), "-".join(LANGUAGE))
    # python-docx's add_paragraph looks for the body's closing section properties among all
    # paragraphs and `paragraph.style = ...` searches every style for the default one, each time:
    # quadratic, minutes for 10,000 ideas. Each paragraph goes straight before the section
    # properties instead, with its style's id.
    ids = {name: doc.styles[name].style_id for name in ("Title", "Heading 1", "Heading 2", "Quote", "List Bullet")}
    end = doc.element.body.sectPr
    grey = RGBColor(0x4B, 0x55, 0x63)

    def para(text: str = "", style: str | None = None) -> Paragraph:
        element = OxmlElement("w:p")
        end.addprevious(element)
        paragraph = Paragraph(element, doc._body)
        if text:
            paragraph.add_run(text)
        if style:
            element.style = ids[style]
        return paragraph

    para(TITLE, "Title")
    para(subtitle(charter))
    for line in figure_lines(charter):
        para(line, "List Bullet")
    para().add_run().add_break(WD_BREAK.PAGE)
    for section in charter.sections:
        para(section.label, "Heading 1")
        para(section.description)
        para().add_run(count_line(section)).italic = True
        for n, group in enumerate(section.groups, 1):
            para(group_heading(n, group), "Heading 2")
            for idea in group.ideas:
                for block in idea.text.split("\n\n"):
                    para(block, "Quote")
                run = para().add_run(credit(idea) + (f" · {idea.url}" if idea.url else ""))
                run.font.size = Pt(9)
                run.font.color.rgb = grey
    doc.save(out)


WRITERS: dict[str, Callable[[Charter, BinaryIO], None]] = {"md": write_markdown, "odt": write_odt, "docx": write_docx}
MEDIA_TYPES = {"md": "text/markdown; charset=utf-8", "odt": "application/vnd.oasis.opendocument.text",
               "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def charter_format(name: str) -> str:
    """The format a file name asks for by its extension."""
    suffix = name.rpartition(".")[2].lower() if "." in name else ""
    if suffix not in FORMATS:
        raise CharterError(f"{name}: kies een bestand dat eindigt op {', '.join('.' + f for f in FORMATS)}")
    return suffix


def write_charter(charter: Charter, fmt: str, out: BinaryIO) -> None:
    if fmt not in WRITERS:
        raise CharterError(f"onbekend formaat {fmt!r} (kies uit: {', '.join(FORMATS)})")
    WRITERS[fmt](charter, out)


def statuses_of(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values)) or (Status.ACCEPTED,)
