"""The RSS/Atom collector: one conditional GET per run, feedparser on the bytes, one Batch.

The whole feed lands in one Batch, so its posts and the new ETag/Last-Modified are stored
together: a crash never leaves validators that claim we have entries we do not. A feed that is
not well-formed keeps what feedparser could read, but its validators are not stored, so the next
run fetches it in full again instead of getting a 304 for a document we only half read.
"""

from __future__ import annotations

import html
import io
import re
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_tz
from urllib.parse import urlparse
from xml.sax import SAXParseException
from zoneinfo import ZoneInfo

import feedparser
from feedparser.encodings import RE_XML_DECLARATION
from feedparser.namespaces.mediarss import Namespace as MediaRss

from ..config import Config, Source
from ..dutch import counted, xml_error
from ..models import Author, Post, site_key, site_of
from ..normalize import extract, hashtags, html_to_text, http_url, normalize_tag, tidy
from ..timeutil import AMSTERDAM, to_utc_iso
from .base import Batch, SourceState, without_future_times
from .http import Fetcher, FetchError, Response

# the declaration feedparser 6 gives every document it parses (feedparser.encodings.convert_to_utf8)
FEEDPARSER_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>"

# bozo reasons that are not a problem once a feed parsed: a wrong Content-Type, or a us-ascii
# default (RFC 3023 for text/xml without charset) that feedparser rightly read as UTF-8
HARMLESS_BOZO = (feedparser.NonXMLContentType,)
ROOT_END = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|RDF)>$")
# an entry id that names the entry wherever it appears; any other id (a number, a slug) is unique
# within its site at best, so two sites' entry "1" would be one post
GLOBAL_ID = re.compile(r"(?:https?://|tag:|urn:)", re.IGNORECASE)
# a date's time of day and the zone after it, if any: an offset, or a name ("Z", "GMT", "CET", "GMT+1")
TIME_ZONE = re.compile(r"\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?P<zone>[+-]\d\d(?::?\d\d)?\b|"
                       r"[A-Za-z][A-Za-z/_]*(?:[+-]\d{1,2}(?::?\d\d)?)?)?")
# names of Central European time that feeds from here write and feedparser reads as UTC (MET and
# MEST only in RSS dates): the name says whether summer time was meant, so they are fixed offsets
CENTRAL_EUROPEAN = {name: timezone(timedelta(hours=hours)) for name, hours in
                    {"CET": 1, "CEST": 2, "MET": 1, "MEST": 2, "MEZ": 1, "MESZ": 2}.items()}
# the names for UTC itself (RFC 822, ISO 8601, IANA's Etc/ without its prefix)
UTC_NAMES = {"UT", "UTC", "GMT", "Z"}
# a zone TIME_ZONE found, in capitals: a name, an offset, or both ("GMT+0100", as JavaScript writes dates)
ZONE_PARTS = re.compile(r"(?P<name>[A-Z/_]*)(?:(?P<sign>[+-])(?P<hours>\d{1,2}):?(?P<minutes>\d\d)?)?")
STATUS_TEXT = {401: "inloggen vereist", 403: "geen toegang", 404: "niet gevonden"}

# feedparser files <media:description> (an attachment's alt text) as the entry's summary or
# content, so a Mastodon post with a picture would be stored as its picture description
# (kurtmckee/feedparser#53, open). Keep it apart as `media_description`; the post stays the post.
MediaRss._start_media_description = lambda self, attrs_d: self.push("media_description", 1)
MediaRss._end_media_description = lambda self: self.pop("media_description")


def collect(source: Source, state: SourceState, fetcher: Fetcher, config: Config) -> Iterator[Batch]:
    """Fetch the feed with the stored validators and yield what it holds as one Batch."""
    url = state.row.url
    headers = {}
    if state.row.etag:
        headers["If-None-Match"] = state.row.etag
    if state.row.last_modified:
        headers["If-Modified-Since"] = state.row.last_modified
    response = fetcher.get(url, headers=headers)
    moved_to = response.permanent_url if response.permanent_url not in (None, url) else None
    if response.status == 304:
        yield Batch(not_modified=True, moved_to=moved_to)
        return
    if response.status == 410:
        yield Batch(gone=True, moved_to=moved_to, problems=[
            f"HTTP 410 Gone: de feed {response.url} bestaat niet meer; de bron wordt niet meer opgehaald "
            "tot de URL in de configuratie verandert"
        ])
        return
    if response.status != 200:
        reason = STATUS_TEXT.get(response.status, "onverwacht antwoord")
        raise FetchError(f"HTTP {response.status} ({reason}) bij {response.url}")
    # the site of the configured URL, not of where redirects led: a feed that moves keeps its keys
    batch = parse(response, config.tags, match=getattr(source, "match", "tags"), site=site_of(state.row.configured_url),
                  zone=ZoneInfo(source.time_zone))
    batch.moved_to = moved_to
    yield batch


def parse(response: Response, tags: list[str], *, match: str = "tags", site: str, zone: tzinfo = AMSTERDAM) -> Batch:
    """Turn a 200 response into a Batch; raise FetchError when it holds no feed at all.

    Entries without a configured tag (with match "tags") are skipped. An entry id that is not
    globally unique gets `site` in its key (see `_post`); a time without a zone is `zone`'s (see `_time`).
    """
    if not response.body.strip():
        raise FetchError(f"lege reactie: {response.url} gaf HTTP 200 zonder inhoud")
    headers = {k: v for k, v in response.headers.items() if k in ("content-type", "content-location")}
    parsed = _feedparse(response.body, headers, response.url)
    if not parsed.get("version") and not parsed.entries:
        raise FetchError(_not_a_feed(response, parsed))
    problems = []
    if isinstance(parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride) and not _harmless(parsed):
        repaired = _repair_utf8(response.body)
        if repaired is not None:
            parsed = _feedparse(repaired, headers, response.url)
            problems.append(f"ongeldige UTF-8-bytes in {response.url} vervangen door \ufffd")
    entries = parsed.entries
    if parsed.bozo and not _harmless(parsed):
        cut = bool(entries) and not _ends_whole(response.body)
        if cut:
            # the document was cut off: its last entry may be too, and must not replace a whole one
            entries = entries[:-1]
        problems.append(_describe_bozo(parsed, response, len(entries), cut=cut))
    partial = bool(problems)
    batch = Batch(problems=problems)
    if not partial:
        batch.validators = (response.headers.get("etag"), response.headers.get("last-modified"))
    wanted = set(tags)
    kept: dict[str, Post] = {}
    keyless = clashing = 0
    feed_language = parsed.feed.get("language")
    for entry in entries:
        post = _post(entry, response.url, feed_language, site, zone)
        if match == "tags" and not wanted.intersection(post.tags):
            batch.skipped += 1
        elif not post.key:
            keyless += 1
        elif post.key not in kept:
            kept[post.key] = post
        elif post != kept[post.key]:
            # the same entry twice in one document counts once; another entry under its id cannot be
            # stored (one key, one post) but must not vanish unnoticed: a broken generator does this
            clashing += 1
    batch.posts, future = without_future_times(list(kept.values()), response.url)
    problems += future
    if keyless:
        problems.append(f"{counted(keyless, 'bericht', 'berichten')} zonder id en zonder link overgeslagen in {response.url}")
    if clashing:
        their = "zijn" if clashing == 1 else "hun"
        problems.append(f"{counted(clashing, 'bericht', 'berichten')} overgeslagen in {response.url}: {their} id staat "
                        "al bij een ander bericht in dezelfde feed (alleen het eerste is opgeslagen)")
    return batch


def _feedparse(body: bytes, headers: dict[str, str], url: str) -> feedparser.FeedParserDict:
    """feedparser's reading of `body`; a FetchError when feedparser stops on what the feed holds.

    feedparser lets some values in a feed raise: an encoding name with a NUL byte in it (ValueError)
    or Python's "undefined" codec (UnicodeError), named by the XML declaration or the Content-Type; a
    character reference past Unicode (ValueError, OverflowError) in a feed that is not well-formed;
    a GML srsName like "EPSG:abc" (ValueError). That is the feed's fault, not an internal error.
    """
    try:
        # a stream, not the bytes: feedparser first tries bytes as a local file name, so a body that
        # reads "/etc/hostname" (or "/dev/zero") would be read from this machine instead
        return feedparser.parse(io.BytesIO(body), response_headers=headers)
    except (ValueError, OverflowError) as e:
        if any(frame.name == "convert_to_utf8" for frame in traceback.extract_tb(e.__traceback__)):
            reason = "de tekencodering die de feed of zijn Content-Type noemt is onbruikbaar"
        else:
            reason = f"feedparser loopt vast op de inhoud ({type(e).__name__})"
        raise FetchError(f"geen leesbare RSS- of Atom-feed bij {url}: {reason}") from None


def _post(entry: feedparser.FeedParserDict, feed_url: str, feed_language: str | None, site: str,
          zone: tzinfo) -> Post:
    """One entry as a Post; its key is empty when the entry has neither id nor link.

    The key is the entry's id, else its link. An id that is no web address, `tag:` or `urn:` (many
    generators number their entries) is unique within its site only, so it is named with the site:
    `1 (gemeente-a.nl)`. Such entries were stored under the bare id before; that id is the
    post's `former_key`, so the store takes over the old row instead of storing the post twice.
    """
    link = (entry.get("link") or "").strip() or None
    identity = (entry.get("id") or "").strip() or link or ""
    key = site_key(identity, site) if identity and not GLOBAL_ID.match(identity) else identity
    content_html, language = _content(entry)
    extracted = extract(content_html)
    title = _title(entry)
    categories = [
        normalize_tag(value) for tag in entry.get("tags") or [] for value in (tag.get("term"), tag.get("label")) if value
    ]
    published = _time(entry.get("published"), entry.get("published_parsed"), zone)
    # the real <updated>, not feedparser's fallback to <published>
    updated = _time(dict.get(entry, "updated"), dict.get(entry, "updated_parsed"), zone)
    return tidy(Post(
        key=key,
        former_key=identity if key != identity else None,
        kind="feed",
        content_html=content_html,
        text=extracted.text,
        url=link,
        title=title,
        language=language or feed_language,
        published_at=published or updated,
        edited_at=updated if published and updated and updated != published else None,
        tags=tuple(dict.fromkeys(t for t in [*categories, *hashtags(title or ""), *extracted.tags] if t)),
        links=extracted.links,
        mentions=extracted.mentions,
        # an entry without a link has its id as link in feedparser; a `tag:` or `urn:` names no site
        author=_author(entry, http_url(link) or feed_url),
    ))


def _content(entry: feedparser.FeedParserDict) -> tuple[str, str | None]:
    """The fullest body an entry has, as HTML (plain text is escaped), and its declared language."""
    for detail in [*(entry.get("content") or []), entry.get("summary_detail")]:
        if detail and detail.get("value"):
            value = detail["value"]
            if detail.get("type") == "text/plain":
                value = html.escape(value)
            return value, detail.get("language") or None
    return "", None


def _title(entry: feedparser.FeedParserDict) -> str | None:
    detail = entry.get("title_detail")
    if not detail or not (detail.get("value") or "").strip():
        return None
    if detail.get("type") in ("text/html", "application/xhtml+xml"):
        return html_to_text(detail["value"])[0] or None
    return detail["value"].strip()


def _author(entry: feedparser.FeedParserDict, page_url: str) -> Author | None:
    """Name and profile link only, never an e-mail address: feeds carry one in `<email>`, as a
    `mailto:` profile link, and as the name itself (an RSS `<author>` is often just the address).
    So a name with an `@` is not kept, and a link that is no web address (`mailto:`, `javascript:`)
    is neither the key nor the profile link.

    The key is the profile link; without one, the name scoped to the site it appeared on, so
    "Redactie" of two blogs stays two people.
    """
    detail = entry.get("author_detail") or {}
    name = (detail.get("name") or entry.get("author") or "").strip()
    name = name if name and "@" not in name else None
    href = http_url(detail.get("href"))
    if href:
        return Author(key=href, display_name=name, profile_url=href)
    if name:
        return Author(key=f"{name} ({urlparse(page_url).hostname})", display_name=name)
    return None


def _time(text: str | None, parsed: time.struct_time | None, zone: tzinfo) -> str | None:
    """An entry's date (`text` as written, `parsed` as feedparser read it) as stored UTC text; `zone`
    is the source's time zone. Nonsense is dropped rather than guessed.

    feedparser hands over UTC only, and takes a time without a zone, or with a name it does not
    know (CET, CEST, "GMT+0000"), as UTC: a Dutch feed that writes 10:00 local time would be stored
    an hour or two off (and an RSS date without a zone it does not read at all), and it misreads
    some forms (ISO week dates). So the time as written is read too, and the zone written after it
    decides (see `_written_zone`): an offset, a UTC name or a Central European name counts as its
    offset; no zone, or a name nobody knows, as the source's local time (a date alone: its midnight;
    in the hour the clocks go back, the first of the two). feedparser's reading stands for a name
    only it knows (its time then differs from the written one, as for EST) and for a date in a
    form only it reads.
    """
    text = (text or "").strip()
    found = TIME_ZONE.search(text)
    try:
        read = datetime(*parsed[:6]) if parsed else None    # naive, in UTC
        wall = _as_written(text, found) if found else read   # a date alone: feedparser keeps it as written
        written = _written_zone(found["zone"]) if found and found["zone"] else None
        if wall is None:
            moment = read and read.replace(tzinfo=UTC)
        elif written is not None:
            moment = wall.replace(tzinfo=written)
        elif found and found["zone"] and read not in (None, wall):
            moment = read.replace(tzinfo=UTC)
        else:
            moment = wall.replace(tzinfo=zone)
        return to_utc_iso(moment) if moment else None
    except (TypeError, ValueError, OverflowError):
        return None


def _written_zone(written: str) -> tzinfo | None:
    """The fixed offset a zone written after a time stands for, or None for a name we do not know:
    an offset alone, a UTC name with or without an offset after it ("GMT+0100", "UTC+1"), or a
    Central European name. An offset after any other name is not guessed at; after IANA's "Etc/" it
    counts the other way, as in POSIX ("Etc/GMT+1" is an hour behind UTC).
    Raises ValueError for an offset of a day or more."""
    written = written.upper()
    behind = "+" if written.startswith("ETC/") else "-"
    name, sign, hours, minutes = ZONE_PARTS.fullmatch(written.removeprefix("ETC/")).groups()
    if name in ("", *UTC_NAMES):
        offset = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
        return timezone(-offset if sign == behind else offset)
    return None if sign else CENTRAL_EUROPEAN.get(name)


def _as_written(text: str, found: re.Match) -> datetime | None:
    """The date and time in `text` as written, whatever its zone, to the second: from RFC 822 (RSS)
    or ISO 8601 (Atom), else None. `found` is where TIME_ZONE found its time and zone."""
    written = parsedate_tz(text)
    if written:
        return datetime(*written[:6])
    try:
        return datetime.fromisoformat(text[:found.start("zone")].strip() if found["zone"] else text).replace(microsecond=0)
    except ValueError:
        return None


def _ends_whole(body: bytes) -> bool:
    """Whether the document ends with its root element's end tag, so that its last entry is whole.

    XML allows comments, processing instructions and white space after the root element, and
    caching plugins put their signature there (`<!-- Cached page generated by WP-Super-Cache -->`).
    """
    tail = body.rstrip()
    while tail.endswith((b"-->", b"?>")):
        start = tail.rfind(b"<!--" if tail.endswith(b"-->") else b"<?")
        if start < 0:
            return False
        tail = tail[:start].rstrip()
    return bool(ROOT_END.search(tail[-100:]))


def _repair_utf8(body: bytes) -> bytes | None:
    """A UTF-8 feed with a few bad bytes: replace just those, instead of reading it all as windows-1252.

    Only when the rest really is UTF-8 (it has valid multi-byte characters); a Latin-1 feed that
    merely claims UTF-8 reads better with feedparser's own fallback.
    """
    text = body.decode("utf-8", errors="replace")
    if "\ufffd" in text and any(ord(c) > 127 and c != "\ufffd" for c in text):
        return text.encode("utf-8")
    return None


def _harmless(parsed: feedparser.FeedParserDict) -> bool:
    error = parsed.get("bozo_exception")
    if isinstance(error, HARMLESS_BOZO):
        return True
    return isinstance(error, feedparser.CharacterEncodingOverride) and parsed.get("encoding", "").lower() in (
        "utf-8", "utf8",
    )


def _describe_bozo(parsed: feedparser.FeedParserDict, response: Response, read: int, *, cut: bool) -> str:
    """The problem with a feed that parsed with errors; `read` counts the entries handed on, so
    the message adds up with the run's counts (a cut-off last entry is not among them)."""
    error = parsed.get("bozo_exception")
    kept = f"{counted(read, 'bericht', 'berichten')} wel gelezen"
    if isinstance(error, feedparser.CharacterEncodingOverride):
        return f"tekencodering klopt niet in {response.url}: gelezen als {parsed.get('encoding')}, tekens kunnen verkeerd staan ({kept})"
    if cut:
        return (f"feed is geen geldige XML ({_xml_problem(error, response.body)}) en houdt halverwege op in {response.url}; "
                f"{kept}; het laatste bericht is niet opgeslagen, want dat kan afgebroken zijn")
    return f"feed is geen geldige XML ({_xml_problem(error, response.body)}) in {response.url}; {kept}"


def _xml_problem(error: Exception, body: bytes) -> str:
    """Where and why the feed is not well-formed, in Dutch (see `xml_error`), with its line and
    column as in the document served: feedparser gives the parser a declaration of its own
    (`FEEDPARSER_DECLARATION`), in place of the document's or on a line before a document without
    one, so expat counts a line too many there, or shifts the first line's columns by the
    difference in length. Any other error has no place, and is named by its kind alone: its message
    is English, and the admin reads Dutch."""
    if not isinstance(error, SAXParseException):
        return f"onbekende fout: {type(error).__name__}"
    head = body[:200].decode("utf-16", "ignore") if body.startswith((b"\xff\xfe", b"\xfe\xff")) else (
        body[:200].removeprefix(b"\xef\xbb\xbf").decode("latin-1"))
    line, column = error.getLineNumber(), error.getColumnNumber()
    declared = RE_XML_DECLARATION.match(head)
    if declared is None:
        line -= 1
    elif line == 1:
        column -= len(FEEDPARSER_DECLARATION) - len(declared.group())
    return xml_error(error.getMessage(), line, column)


def _not_a_feed(response: Response, parsed: feedparser.FeedParserDict) -> str:
    """Why a document with neither a feed version nor entries is no feed. It is only called not
    well-formed when it is not: what feedparser notes about a document it still read (a Content-Type
    that is no XML type, a charset it read otherwise) is what XML that is no feed (an API's answer,
    a sitemap) brings along, and the Content-Type says enough about that."""
    content_type = response.headers.get("content-type", "onbekend")
    start = response.body.lstrip()[:200].lower()
    if "html" in content_type or start.startswith((b"<!doctype html", b"<html")):
        return f"geen RSS- of Atom-feed maar een webpagina (Content-Type {content_type}) bij {response.url}"
    if parsed.bozo and not isinstance(parsed.get("bozo_exception"), feedparser.ThingsNobodyCaresAboutButMe):
        return (f"geen leesbare RSS- of Atom-feed bij {response.url}: "
                f"geen geldige XML ({_xml_problem(parsed.get('bozo_exception'), response.body)})")
    return f"geen RSS- of Atom-feed bij {response.url} (Content-Type {content_type})"
