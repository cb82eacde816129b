"""Normalisation shared by every collector: HTML to plain text, and what the text carries.

The original HTML is kept as harvested (the review app sanitises it for display); the plain text
is what NLP, search and exports use: paragraph breaks kept, entities decoded, Unicode NFC.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser

BLOCK_TAGS = {
    "p", "div", "section", "article", "blockquote", "pre", "ul", "ol", "li", "table", "tr",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "footer", "figure", "figcaption", "dl", "dt", "dd",
}
SKIP_TAGS = {"script", "style", "template", "noscript", "head", "title"}

HASHTAG = re.compile(r"(?<![\w/&#])#(\w+)", re.UNICODE)
MENTION = re.compile(r"(?<![\w/@])@(\w[\w.-]*(?:@[\w-]+(?:\.[\w-]+)+)?)", re.UNICODE)
URL = re.compile(r"https?://[^\s<>\"'\u00a0]+", re.IGNORECASE)


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
            if href and href.startswith(("http://", "https://")):
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


def html_to_text(html: str) -> tuple[str, list[str]]:
    """Plain text of an HTML fragment (or of plain text), and the http(s) links it points to."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, parser.links


def hashtags(text: str) -> list[str]:
    """Hashtags in a text, lower-cased, without '#', in order of first appearance."""
    return _unique(m.lower() for m in HASHTAG.findall(text))


def normalize_tag(tag: str) -> str:
    return unicodedata.normalize("NFC", tag.strip().lstrip("#")).lower()


def extract(html: str) -> Extracted:
    """Everything collectors need from a piece of harvested HTML (or plain text)."""
    text, hrefs = html_to_text(html)
    links = _unique([*hrefs, *(u.rstrip(".,;:!?)") for u in URL.findall(text))])
    return Extracted(
        text=text,
        tags=tuple(hashtags(text)),
        links=tuple(link for link in links if "/tags/" not in link),
        mentions=tuple(_unique(MENTION.findall(URL.sub(" ", text)))),
    )


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))
