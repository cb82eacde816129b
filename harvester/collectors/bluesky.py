"""Bluesky collector: one post search per hashtag through a signed-in account, incremental and polite.

Post search (`app.bsky.feed.searchPosts`) refuses anonymous calls on Bluesky's public AppView, so
the collector signs in with a handle and an app password (`com.atproto.server.createSession`) and
asks the configured service (bsky.social passes `app.bsky.*` calls on to the AppView). Sign-ins
are limited per account (about 30 per 5 minutes and a few hundred a day), so the session is kept
for the life of the process and renewed with `refreshSession` when a call answers `ExpiredToken`;
only a refresh token that no longer works leads to a new sign-in. A refused sign-in fails the run
once, with the names of the two environment variables.

Several `tag` parameters are AND-ed by the API, so each configured tag gets a search of its own
(`sort=latest`, up to 100 posts a page, `cursor` within one run); posts found by more than one
search are one post, by their `at://` uri. Per tag a `Cursor` keeps times, not search cursors (a
search cursor is an offset that shifts as posts arrive):
- `newest_id`: the newest post's time. A run asks from OVERLAP before it (`since`), as the search
  index takes some posts in late; what comes back twice is stored once.
- A walk down the pages that is cut short (max_pages, the rate limit, a crash) leaves the window
  still to read in `backfill_since`..`backfill_max_id`; the next run reads that window first (with
  `until`), then what is new. The first run is such a walk from `backfill_days` ago. A search
  cursor that stops after a full page above `since` is not the end: the walk goes on below the
  oldest post read, as the next run would (docs/bluesky.md, Paging).
Each page is one Batch with the cursor that holds after it, so a page and its cursor are stored
together or not at all.

Posts are normalised like Mastodon's: hashtags, mentions and links come from the record's facets
(byte ranges in UTF-8), not from the text; the HTML is built from the text and those facets. An
author is keyed by their DID, the account's one lasting name: a handle can change, and every
account whose handle does not verify is shown as `handle.invalid`. The handle is kept beside it
for people to read. An author with the self-label `!no-unauthenticated` (shown to signed-in
users only) has opted out, like Mastodon's #nobot: the collector names their DID in
`Batch.opted_out`, and the keep-check (harvester.privacy.keep) leaves their posts out and has
what is stored of them forgotten. Like every collector, it decides nothing else about privacy
(tombstones, suppressed authors).
"""

from __future__ import annotations

import html
import json
import os
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from ..config import BlueskySource, Config
from ..models import Author, Cursor, Post
from ..normalize import http_url, normalize_tag, tidy
from ..timeutil import dutch_time, parse_iso, to_utc_iso
from .base import Batch, SourceState, rate_limit_stop, read_page, without_future_times
from .http import FetchError, Fetcher, RateLimitWatch, Response, json_body

PAGE_LIMIT = 100                     # searchPosts' maximum
GET_POSTS_LIMIT = 25                 # getPosts' maximum number of uris per call
OVERLAP = timedelta(minutes=10)      # re-read below the newest post, for posts the search index took in late
UNTIL_MARGIN = timedelta(seconds=1)  # stored times have whole seconds: `until` is exclusive
RATELIMIT_RESERVE = 5                # stop paging (or wait for the reset) when this few requests are left
OPT_OUT_LABEL = "!no-unauthenticated"
INVALID_HANDLE = "handle.invalid"    # what the AppView shows for a handle that does not verify: no one's name
WEB = "https://bsky.app"
POST_COLLECTION = "app.bsky.feed.post"
SESSION_ERRORS = {"ExpiredToken", "InvalidToken"}   # with 400 or 401: the session needs renewing
FACET = "app.bsky.richtext.facet#"


class BlueskyAuthError(FetchError):
    """The account could not sign in (missing or refused handle or app password)."""


def profile_url(actor: str) -> str:
    """The web address of a profile; with a DID it stays the same when the handle changes."""
    return f"{WEB}/profile/{actor}"


def web_url(at_uri: str, handle: str | None = None) -> str | None:
    """`https://bsky.app/profile/HANDLE/post/RKEY` for a post's at:// uri (the DID without a handle)."""
    parts = at_uri.removeprefix("at://").split("/")
    if not at_uri.startswith("at://") or len(parts) != 3 or parts[1] != POST_COLLECTION:
        return None
    actor = handle if handle and handle != INVALID_HANDLE else parts[0]
    return f"{profile_url(actor)}/post/{parts[2]}"


@dataclass
class Session:
    access: str
    refresh: str
    did: str


# sessions live as long as the process (`harvester run` keeps one per account), never in the database
_sessions: dict[tuple[str, str], Session] = {}
_sessions_lock = threading.Lock()


def collect(source: BlueskySource, state: SourceState, fetcher: Fetcher, config: Config) -> Iterator[Batch]:
    """Yield one Batch per search page, each carrying the cursor of its tag that holds after it."""
    client = BlueskyClient(source, fetcher)
    cutoff = datetime.now(UTC) - timedelta(days=config.harvest.backfill_days)
    try:
        client.sign_in()
        for tag in config.tags:
            yield from _TagRun(client, tag, state.cursors.get(tag), cutoff, config.harvest.max_pages).run()
            if client.watch.stopped:
                yield Batch(ratelimit=client.watch.last, problems=[rate_limit_stop(client.base, client.watch.last)])
                return
    except BlueskyAuthError:
        yield Batch(auth_required=True, ratelimit=client.watch.last)   # stored, then the run fails
        raise


class BlueskyClient:
    """XRPC calls to one service as one account: sign-in, session renewal, rate limit, JSON (collect and recheck)."""

    def __init__(self, source: BlueskySource, fetcher: Fetcher):
        self.source, self.fetcher = source, fetcher
        self.base = source.service.rstrip("/")
        self.handle = os.environ.get(source.handle_env, "").strip().removeprefix("@")
        self.password = os.environ.get(source.app_password_env, "").strip()
        self.watch = RateLimitWatch(fetcher, RATELIMIT_RESERVE)
        self.key = (self.base, self.handle.lower())

    def sign_in(self) -> Session:
        """The process's session for this account, signing in only when there is none."""
        with _sessions_lock:
            session = _sessions.get(self.key)
        return session or self._create_session()

    def query(self, nsid: str, params: list[tuple[str, str]]) -> dict:
        """GET an XRPC query; an expired session is renewed once, and the call made again.

        Errors name the call without its parameters: getPosts asks by at:// address, which holds the
        author's DID, and the errors are kept (runs, job outcomes, log) after that author is forgotten.
        """
        where = f"{self.base}/xrpc/{nsid}"
        session = self.sign_in()
        response = self._get(nsid, params, session)
        if _session_error(response):
            response = self._get(nsid, params, self._renew(session))
            if _session_error(response):
                raise BlueskyAuthError(f"{self.base} weigert ook de vernieuwde sessie voor {nsid} "
                                       f"(HTTP {response.status}: {_error_text(response)})")
        if response.status != 200:
            raise FetchError(f"HTTP {response.status} bij {where}: {_error_text(response)}")
        body = json_body(response, where)
        if not isinstance(body, dict):
            raise FetchError(f"onverwacht antwoord van {where}: geen JSON-object")
        return body

    def _get(self, nsid: str, params: list[tuple[str, str]], session: Session) -> Response:
        response = self.fetcher.get(f"{self.base}/xrpc/{nsid}", params=params, headers={
            "Accept": "application/json", "Authorization": f"Bearer {session.access}"})
        self.watch.note(response)
        return response

    def _create_session(self) -> Session:
        if not self.handle or not self.password:
            raise BlueskyAuthError(
                f"bron {self.source.name}: zoeken op Bluesky kan alleen met een account; zet de handle in de "
                f"omgevingsvariabele {self.source.handle_env} en een app-wachtwoord in {self.source.app_password_env}")
        response = self.fetcher.post(f"{self.base}/xrpc/com.atproto.server.createSession",
                                     json={"identifier": self.handle, "password": self.password})
        if response.status in (400, 401):
            hint = ("het account vraagt een code uit de e-mail: gebruik een app-wachtwoord, niet het wachtwoord zelf"
                    if _error_name(response) == "AuthFactorTokenRequired" else
                    "controleer ze, of maak een nieuw app-wachtwoord (Instellingen > Privacy en beveiliging > App-wachtwoorden)")
            raise BlueskyAuthError(
                f"{self.base} weigert in te loggen met de handle uit {self.source.handle_env} en het app-wachtwoord "
                f"uit {self.source.app_password_env} (HTTP {response.status}: {_error_text(response)}); {hint}")
        return self._keep(response, "createSession")

    def _renew(self, session: Session) -> Session:
        """A new session from the refresh token; a new sign-in when that token is no longer valid either."""
        response = self.fetcher.post(f"{self.base}/xrpc/com.atproto.server.refreshSession",
                                     headers={"Authorization": f"Bearer {session.refresh}"})
        if _session_error(response):
            with _sessions_lock:
                _sessions.pop(self.key, None)
            return self._create_session()
        return self._keep(response, "refreshSession")

    def _keep(self, response: Response, what: str) -> Session:
        if response.status != 200:
            raise FetchError(f"{what} bij {self.base}: HTTP {response.status}: {_error_text(response)}")
        body = json_body(response, response.url)
        try:
            session = Session(str(body["accessJwt"]), str(body["refreshJwt"]), str(body["did"]))
        except (KeyError, TypeError):
            raise FetchError(f"onverwacht antwoord op {what} van {self.base}: geen sessie") from None
        with _sessions_lock:
            _sessions[self.key] = session
        return session


def forget_sessions() -> None:
    """Drop every kept session (tests; a changed password takes effect without a restart of the process)."""
    with _sessions_lock:
        _sessions.clear()


class _TagRun:
    """One run over one tag: the window an earlier walk left unread, then what is new."""

    def __init__(self, client: BlueskyClient, tag: str, cursor: Cursor | None, cutoff: datetime, max_pages: int):
        self.client, self.tag, self.cutoff = client, tag, cutoff
        self.cursor = cursor or Cursor(tag_group=tag)
        self.pages_left = max_pages
        self.first = True           # the run's first request is not counted against max_pages

    def run(self) -> Iterator[Batch]:
        c = self.cursor
        if not c.backfill_done and c.backfill_max_id and c.backfill_since:
            finished = yield from self._walk(parse_iso(c.backfill_since), _until_including(c.backfill_max_id))
            if not finished:
                return
        newest = self.cursor.newest_id
        yield from self._walk(parse_iso(newest) - OVERLAP if newest else self.cutoff, None)

    def _walk(self, since: datetime, until: datetime | None) -> Iterator[Batch]:
        """Pages from `until` (None: now) down to `since`, newest first; returns whether it got to the end.

        The lexicon lets the search's cursor stop before the last result: when it stops, or repeats,
        under a full page whose oldest post is still after `since`, the walk goes on with a
        fresh search (no cursor) that ends just above that post, as the next run would. A fresh search
        that gets no further back ends the window with a problem instead of asking for ever.
        """
        page_cursor: str | None = None
        newest = self.cursor.newest_id
        while True:
            if not self.first and self.pages_left <= 0 or not self.client.watch.room_for_more():
                return False
            self.pages_left -= not self.first
            self.first = False
            params = [("q", f"#{self.tag}"), ("tag", self.tag), ("sort", "latest"), ("limit", str(PAGE_LIMIT)),
                      ("since", _param_time(since))]
            if until is not None:
                params.append(("until", _param_time(until)))
            if page_cursor:
                params.append(("cursor", page_cursor))
            body = self.client.query("app.bsky.feed.searchPosts", params)
            views = body.get("posts")
            if not isinstance(views, list):
                raise FetchError(f"onverwacht antwoord van {self.client.base} op searchPosts: geen lijst met posts")
            times = [t for t in map(_sort_time, views) if t is not None]
            kept = [v for v in views if (_sort_time(v) or since) >= since]
            next_cursor = body.get("cursor") if isinstance(body.get("cursor"), str) else None
            ended = not views or not next_cursor or next_cursor == page_cursor or (times and min(times) < since)
            cut_off = ended and len(views) >= PAGE_LIMIT and bool(times) and min(times) > since
            stuck = cut_off and until is not None and min(times) >= until - UNTIL_MARGIN
            done = ended and (not cut_off or stuck)
            if until is None and times:
                newest = max(filter(None, [newest, to_utc_iso(max(times))]))
            if done:
                cursor = Cursor(self.tag, newest, None, True, None)
            else:
                # what is left of this walk: from `since` up to the oldest post on this page
                cursor = Cursor(self.tag, newest, to_utc_iso(min(times)) if times else self.cursor.backfill_max_id,
                                False, to_utc_iso(since))
            self.cursor = cursor
            batch = self._batch(kept, cursor)
            if stuck:
                batch.problems.append(
                    f"de zoekresultaten voor #{self.tag} van {self.client.base} kwamen ook opnieuw gevraagd niet "
                    f"verder terug dan {dutch_time(to_utc_iso(min(times)), seconds=True)}; posts van "
                    f"{dutch_time(to_utc_iso(since), seconds=True)} tot dan zijn misschien niet opgehaald")
            yield batch
            if done:
                return True
            if cut_off:
                page_cursor, until = None, _until_including(to_utc_iso(min(times)))
            else:
                page_cursor = next_cursor

    def _batch(self, views: list, cursor: Cursor) -> Batch:
        posts, skipped, problems = read_page(views, post, "post")
        posts, future = without_future_times(posts, f"de zoekresultaten voor #{self.tag} van {self.client.base}")
        return Batch(posts=posts, skipped=skipped, problems=problems + future, cursor=cursor, auth_required=False,
                     ratelimit=self.client.watch.last, opted_out=opted_out(views))


def opted_out(views: list) -> tuple[str, ...]:
    """DIDs of the authors among post views who ask to be shown to signed-in users only (collect and recheck)."""
    dids = [v["author"]["did"] for v in views if isinstance(v, dict) and isinstance(v.get("author"), dict)
            and isinstance(v["author"].get("did"), str) and _opted_out(v)]
    return tuple(dict.fromkeys(dids))


def post(view: dict) -> Post:
    """A post view as a Post, whoever wrote it: whether it may be stored is the keep-check's to say."""
    uri = view["uri"]
    author = view["author"]
    record = view["record"]
    did, handle = author["did"], author["handle"].lower()
    if not isinstance(did, str) or not did.startswith("did:"):
        raise ValueError("de auteur heeft geen DID")
    url = web_url(uri, handle)
    if url is None:
        raise ValueError("geen at://-adres van een post")
    text = unicodedata.normalize("NFC", record.get("text") or "")
    rich = RichText.read(text, record.get("facets"))
    links = list(rich.links)
    embed = record.get("embed") if isinstance(record.get("embed"), dict) else {}
    if isinstance(embed.get("external"), dict):
        links.append(embed["external"].get("uri"))   # a link card's address, whatever it holds: see tidy
    quoted = _quoted_uri(embed)
    if quoted and web_url(quoted):
        links.append(web_url(quoted))        # a quote is noted as a link to the quoted post
    reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
    langs = record.get("langs")
    tags = [*rich.tags, *(t for t in record.get("tags") or [] if isinstance(t, str))]
    return tidy(Post(
        key=uri,
        kind="bluesky",
        content_html=rich.html,
        text=text,
        url=url,
        remote_id=uri,
        language=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        published_at=to_utc_iso(parse_iso(record["createdAt"])),
        tags=tuple(dict.fromkeys(normalize_tag(t) for t in tags if normalize_tag(t))),
        links=tuple(links),
        mentions=rich.mentions,
        mention_keys=rich.mention_dids,
        in_reply_to=(reply.get("parent") or {}).get("uri"),
        replies_count=view.get("replyCount"),
        reblogs_count=view.get("repostCount"),
        favourites_count=view.get("likeCount"),
        author=Author(key=did, display_name=author.get("displayName") or None, profile_url=profile_url(did),
                      handle=handle if handle != INVALID_HANDLE else None),
    ))


@dataclass(frozen=True)
class RichText:
    """A post's text with its facets read: what they mark, and the text as HTML with those as links."""

    html: str
    tags: tuple[str, ...]
    mention_dids: tuple[tuple[str, str], ...]   # each mention (`mentions`) with the DID its facet names
    links: tuple[str, ...]

    @property
    def mentions(self) -> tuple[str, ...]:
        """Handles, as the text shows them (the DID when it does not), each once."""
        return tuple(dict.fromkeys(m for m, _ in self.mention_dids))

    @classmethod
    def read(cls, text: str, facets: object) -> RichText:
        """Facets point into the UTF-8 bytes of the text; one that points outside it, into the middle of a
        character, or over an earlier one is left out (the text stays)."""
        data = text.encode("utf-8")
        tags: list[str] = []
        mentions: list[tuple[str, str]] = []
        links: list[str] = []
        spans: list[tuple[int, int, str]] = []
        for facet in facets if isinstance(facets, list) else []:
            index = facet.get("index") if isinstance(facet, dict) else None
            start, end = (index.get("byteStart"), index.get("byteEnd")) if isinstance(index, dict) else (None, None)
            if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(data):
                continue
            try:
                segment = data[start:end].decode("utf-8")
            except UnicodeDecodeError:
                continue
            for feature in facet.get("features") or []:
                kind = str(feature.get("$type", "")).removeprefix(FACET) if isinstance(feature, dict) else ""
                if kind == "tag" and isinstance(feature.get("tag"), str):
                    tags.append(feature["tag"])
                    href = f"{WEB}/hashtag/{quote(feature['tag'], safe='')}"
                elif kind == "mention" and isinstance(feature.get("did"), str):
                    mentions.append((segment[1:].lower() if segment.startswith("@") else feature["did"], feature["did"]))
                    href = profile_url(feature["did"])
                elif kind == "link" and (link := http_url(feature.get("uri"))):
                    links.append(link)
                    href = link
                else:
                    continue
                spans.append((start, end, href))
                break
        return cls(_html(data, spans), tuple(dict.fromkeys(tags)), tuple(dict.fromkeys(mentions)),
                   tuple(dict.fromkeys(links)))


def _html(data: bytes, spans: list[tuple[int, int, str]]) -> str:
    """The text as paragraphs, with a link for each facet (overlapping ones after the first are dropped)."""
    parts: list[str] = []
    at = 0
    for start, end, href in sorted(spans):
        if start < at:
            continue
        parts.append(_escape(data[at:start].decode("utf-8")))
        parts.append(f'<a href="{html.escape(href)}">{_escape(data[start:end].decode("utf-8"))}</a>')
        at = end
    parts.append(_escape(data[at:].decode("utf-8")))
    paragraphs = "".join(parts).split("\n\n")
    return "".join(f"<p>{p.strip(chr(10)).replace(chr(10), '<br>')}</p>" for p in paragraphs if p.strip())


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _opted_out(view: dict) -> bool:
    """The self-label `!no-unauthenticated` on the author (or on the post), and not negated."""
    author = view.get("author") if isinstance(view.get("author"), dict) else {}
    labels = [*(author.get("labels") or []), *(view.get("labels") or [])]
    return any(isinstance(label, dict) and label.get("val") == OPT_OUT_LABEL and not label.get("neg") for label in labels)


def _quoted_uri(embed: dict) -> str | None:
    """The at:// uri of the post a quote embeds (with or without media)."""
    kind = embed.get("$type")
    inner = embed.get("record") if isinstance(embed.get("record"), dict) else {}
    if kind == "app.bsky.embed.recordWithMedia":
        inner = inner.get("record") if isinstance(inner.get("record"), dict) else {}
    elif kind != "app.bsky.embed.record":
        return None
    uri = inner.get("uri")
    return uri if isinstance(uri, str) else None


def _sort_time(view: object) -> datetime | None:
    """When the search sorts a post: the earlier of its creation and its indexing (a date in the future
    cannot lift a post above newer ones)."""
    if not isinstance(view, dict):
        return None
    times = []
    for value in (view.get("indexedAt"), (view.get("record") or {}).get("createdAt")
                  if isinstance(view.get("record"), dict) else None):
        try:
            times.append(parse_iso(value))  # type: ignore[arg-type]
        except (TypeError, ValueError, AttributeError):
            pass
    return min(times) if times else None


def _until_including(stamp: str) -> datetime:
    """The exclusive `until` of a search that still finds a post whose time is stored as `stamp`."""
    return parse_iso(stamp) + UNTIL_MARGIN


def _param_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _error_name(response: Response) -> str:
    try:
        return str(json.loads(response.body).get("error", ""))
    except (ValueError, AttributeError):
        return ""


def _error_text(response: Response) -> str:
    """An XRPC error as `Name: message`, else the start of the body."""
    try:
        body = json.loads(response.body)
        text = ": ".join(str(body[k]) for k in ("error", "message") if body.get(k))
    except (ValueError, AttributeError, TypeError):
        text = ""
    return (text or response.body[:200].decode("utf-8", "replace"))[:200]


def _session_error(response: Response) -> bool:
    return response.status in (400, 401) and (_error_name(response) in SESSION_ERRORS or response.status == 401)
