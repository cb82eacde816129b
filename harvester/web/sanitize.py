"""Harvested HTML made safe to show: nothing runs, nothing styles, nothing loads from elsewhere.

nh3 (Rust's ammonia) does the parsing; we only narrow what it lets through. No images, media or
frames at all (no tracking pixels, no avatars), no style or event attributes, links only to
http(s) and mailto, and every link gets rel="nofollow noopener".
"""

from __future__ import annotations

import nh3
from markupsafe import Markup, escape

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "hr", "i", "li", "ol",
    "p", "pre", "q", "s", "small", "strong", "sub", "sup", "u", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def _only_absolute_links(tag: str, attribute: str, value: str) -> str | None:
    # a relative link would point into the review app itself
    if attribute == "href" and not value.strip().lower().startswith(("http://", "https://", "mailto:")):
        return None
    return value


_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
    attribute_filter=_only_absolute_links, link_rel="nofollow noopener", strip_comments=True,
)


def safe_html(html: str, fallback_text: str = "") -> Markup:
    """Sanitised HTML; the plain text (escaped, line breaks kept) when there is no HTML."""
    if not html.strip():
        return Markup("<p>") + escape(fallback_text).replace("\n", Markup("<br>")) + Markup("</p>")
    return Markup(_cleaner.clean(html))
