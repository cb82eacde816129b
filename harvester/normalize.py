"""Normalisation shared by every collector: HTML to plain text, and what the text carries.

The original HTML is kept as harvested (the review app sanitises it for display); the plain text
is what NLP, search and exports use: paragraph breaks kept, entities decoded, Unicode NFC.

`tidy` is the last step of every collector: titles, names and texts lose the characters no
document can hold (`UNWRITABLE`: a feed that is not well formed can carry a NUL, a text pasted from
a PDF a U+FFFF) and are capped in length (the caps below; see
docs/security.md), so no source can make a post, or a page of the queue, arbitrarily large; a
post's own link, the links in it and its author's profile link are kept only as web addresses
(`http_url`), since documents and spreadsheets make them clickable. Collectors hand over every
link they find and leave that test to `tidy`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from html.parser import HTMLParser

from .models import Post

# caps at harvest, in characters; a longer value is cut and ends in '…'
MAX_TITLE = 300                  # post titles
MAX_NAME = 200                   # author display names, content warnings
MAX_KEY = 1000                   # author keys (acct, profile URL, 'Name (site)')
MAX_TEXT = 20_000                # the plain text (a long blog post is 5,000-10,000)
MAX_HTML = 100_000               # the HTML as harvested (sanitised for display; cut HTML is repaired)

BLOCK_TAGS = {
    "p", "div", "section", "article", "blockquote", "pre", "ul", "ol", "li", "table", "tr",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "footer", "figure", "figcaption", "dl", "dt", "dd",
}
SKIP_TAGS = {"script", "style", "template", "noscript", "head", "title"}

HASHTAG = re.compile(r"(?<![\w/&#])#(\w+)", re.UNICODE)
MENTION = re.compile(r"(?<![\w/@])@(\w[\w.-]*(?:@[\w-]+(?:\.[\w-]+)+)?)", re.UNICODE)
URL = re.compile(r"https?://[^\s<>\"'\u00a0]+", re.IGNORECASE)
# The characters no text we store or write keeps: the control characters (Unicode Cc: C0, DEL, C1)
# but tab, LF and CR, lone surrogates, and the noncharacters U+FFFE and U+FFFF. XML 1.0, and so
# Word, XLSX and ODF, cannot hold C0, the surrogates or those two (python-docx and openpyxl refuse
# the whole file, odfpy writes U+FFFD); DEL and C1 it can, but they mean nothing in a post, and a
# spreadsheet or CSV reader may cut a cell at a NUL or let a control character hide a formula.
UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP_TAGS:
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


@dataclass(frozen=True)
class Extracted:
    text: str
    tags: tuple[str, ...]
    links: tuple[str, ...]
    mentions: tuple[str, ...]


def one_newline(text: str) -> str:
    """`text` with every line break as "\\n": Windows (CRLF) and old Mac (CR) breaks count as one
    character, as a browser counts them in a field's maxlength and as Python reads a text file."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def html_to_text(html: str) -> tuple[str, list[str]]:
    """Plain text of an HTML fragment (or of plain text), and the links it points to, as written."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = one_newline(unicodedata.normalize("NFC", text)).replace("\u00a0", " ")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, parser.links


def hashtags(text: str) -> list[str]:
    """Hashtags in a text, lower-cased, without '#', in order of first appearance."""
    return _unique(m.lower() for m in HASHTAG.findall(text))


def normalize_tag(tag: str) -> str:
    return unicodedata.normalize("NFC", tag.strip().lstrip("#")).lower()


def extract(html: str) -> Extracted:
    """Everything collectors need from a piece of harvested HTML (or plain text); its links as
    written (`tidy` keeps those that are web addresses)."""
    text, hrefs = html_to_text(html)
    links = _unique([*hrefs, *(u.rstrip(".,;:!?)") for u in URL.findall(text))])
    return Extracted(
        text=text,
        tags=tuple(hashtags(text)),
        links=tuple(link for link in links if "/tags/" not in link),
        mentions=tuple(_unique(MENTION.findall(URL.sub(" ", text)))),
    )


def writable(value: str) -> str:
    """`value` without the `UNWRITABLE` characters: what `tidy` stores, and what every export and
    charter writes (a post stored before a character joined the set still holds it)."""
    return UNWRITABLE.sub("", value) if UNWRITABLE.search(value) else value   # searching first: most texts hold none


def clean(value: str | None, limit: int, *, one_line: bool = False) -> str | None:
    """`value` without `UNWRITABLE` characters (tab and line breaks stay in a text, as newlines; in
    one line they become spaces), cut to `limit` characters."""
    if value is None:
        return None
    value = writable(one_newline(value))
    if one_line:
        value = " ".join(value.split())
    return value if len(value) <= limit else value[:limit - 1] + "…"


def tidy(post: Post) -> Post:
    """A post as collectors hand it to the store: cleaned and capped (see `clean` and the caps), its
    links only web addresses, each once."""
    author = post.author
    if author is not None:
        author = replace(author, key=clean(author.key, MAX_KEY, one_line=True) or "",
                         display_name=clean(author.display_name, MAX_NAME, one_line=True) or None,
                         handle=clean(author.handle, MAX_KEY, one_line=True) or None,
                         profile_url=http_url(author.profile_url))
    return replace(
        post, title=clean(post.title, MAX_TITLE, one_line=True) or None, text=clean(post.text, MAX_TEXT) or "",
        content_html=clean(post.content_html, MAX_HTML) or "", url=http_url(post.url),
        links=tuple(_unique(link for link in map(http_url, post.links) if link)),
        spoiler_text=clean(post.spoiler_text, MAX_NAME, one_line=True) or None, author=author)


_HTTP_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f-\x9f]+", re.IGNORECASE)


def http_url(value: object) -> str | None:
    """`value` if it is an http(s) address without spaces or control characters, else None: the one
    test of a link wherever one comes in (any value, since an API's field may hold anything).

    A feed can carry any link (`javascript:`, `file:`, `smb://`, an office macro link); a charter
    document or a spreadsheet would make it clickable, and on Windows an `smb://` link hands over
    the reader's login. What is not a web address is dropped where posts come in, and again where
    a stored link goes into a document."""
    value = value.strip() if isinstance(value, str) else ""
    return value if _HTTP_URL.fullmatch(value) else None


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))
