"""Mastodon collector: the hashtag timelines of one instance, incremental and polite.

Per group of at most four tags one query: `GET /api/v1/timelines/tag/FIRST?any[]=...&limit=40`.
Mastodon drops `any[]` from the URLs in its `Link` header, so we read only `max_id`/`min_id` out of
`Link` and send our own parameters again; following the links blindly would widen the query.

Paging, per tag group (state in `Cursor`, stored with the page it follows):
- Every run starts with the newest 40 (no min_id). When that page reaches down to the stored
  `newest_id`, it holds everything new *and* re-scans the posts just below the cursor, where a post
  that federated late lands (a remote status gets an id from its own creation time). A run with
  nothing new therefore costs one request per tag group.
- When more than 40 posts are new, the gap is walked forward from `newest_id` with `min_id`, each page
  moving the cursor only over posts already stored, and the 40 just below the old cursor are read
  once more for late arrivals.
- The first run backfills newest-first with `max_id` until `backfill_days` or `max_pages`; the cursor
  keeps `backfill_max_id`, so a killed or page-limited backfill goes on where it stopped. A page back
  that is not older than `backfill_max_id` (a server ignoring max_id) ends the backfill for the run.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

from ..config import Config, MastodonSource
from ..models import Author, Cursor, Post
from ..normalize import extract, hashtags, html_to_text, normalize_tag, tidy
from ..timeutil import parse_iso, to_utc_iso
from .base import Batch, SourceState, rate_limit_stop, read_page
from .http import FetchError, Fetcher, RateLimitWatch, Response, json_body

PAGE_LIMIT = 40              # Mastodon's maximum for timelines
TAGS_PER_REQUEST = 4         # Mastodon accepts at most 4 tags in any[]; we keep the whole query to 4
OPT_OUT_TAGS = {"nobot", "noindex", "nosearch", "noarchive"}
RATELIMIT_RESERVE = 5        # stop paging (or wait for the reset) when this few requests are left
# Mastodon allows 300 paging requests per 15 minutes per IP address; we keep under it per host.
PACE_REQUESTS, PACE_WINDOW_SECONDS = 300, 900.0
AUTH_ERRORS = {401, 422}
PARTS = {"local": "lokale", "remote": "externe"}   # timelines_access: the instance's own posts, the rest


class AuthRequired(FetchError):
    """The instance wants a signed-in user for its hashtag timelines."""


def tag_groups(tags: list[str]) -> list[list[str]]:
    """The configured tags in groups of at most four: one timeline query each."""
    return [tags[i:i + TAGS_PER_REQUEST] for i in range(0, len(tags), TAGS_PER_REQUEST)]


def group_key(group: list[str]) -> str:
    return "+".join(group)


def collect(source: MastodonSource, state: SourceState, fetcher: Fetcher, config: Config) -> Iterator[Batch]:
    """Yield one Batch per timeline page, each carrying the cursor that points past it."""
    client = InstanceClient(source, fetcher, config)
    cutoff = datetime.now(UTC) - timedelta(days=config.harvest.backfill_days)
    hidden: list[str] = []
    if not client.token and not state.cursors:
        # the first run without a token: does the instance (4.5+) show every tagged post to strangers?
        access = client.hashtag_access()
        hidden = [part for part, level in access.items() if level == "authenticated"]
        if hidden and all(access.get(part) != "public" for part in PARTS):
            yield Batch(auth_required=True)
            raise FetchError(client.auth_message("geeft hashtag-tijdlijnen alleen aan ingelogde gebruikers"))
        if hidden:
            yield Batch(auth_required=True, problems=[client.auth_message(
                f"toont {' en '.join(PARTS[p] for p in hidden)} posts in hashtag-tijdlijnen alleen aan ingelogde gebruikers")])
    for group in tag_groups(config.tags):
        cursor = state.cursors.get(group_key(group))
        yield from _GroupRun(client, group, cursor, cutoff, config).run()
        if client.stopped:
            yield Batch(ratelimit=client.ratelimit, problems=[rate_limit_stop(client.base, client.ratelimit)])
            break
    if not hidden and (missing := client.missing_token()):
        # once it got through: a refusal names the variable itself, and so does the warning on `hidden`
        yield Batch(problems=[missing])


class _Pacer:
    """A sliding window of request times per host, shared by every source in this process."""

    windows: dict[str, deque[float]] = {}

    @classmethod
    def wait(cls, host: str, sleep) -> None:
        window = cls.windows.setdefault(host, deque())
        now = time.monotonic()
        while window and now - window[0] > PACE_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= PACE_REQUESTS:
            sleep(PACE_WINDOW_SECONDS - (now - window[0]))
        window.append(time.monotonic())


class InstanceClient:
    """Requests to one instance: token, pacing, rate-limit bookkeeping, JSON decoding (collect and recheck)."""

    def __init__(self, source: MastodonSource, fetcher: Fetcher, config: Config):
        self.source, self.fetcher, self.config = source, fetcher, config
        self.base = source.instance.rstrip("/")
        self.host = (urlsplit(self.base).hostname or "").lower()
        self.token = os.environ.get(source.token_env, "").strip() if source.token_env else ""
        self.headers = {"Accept": "application/json"}
        if self.token:
            self.headers["Authorization"] = f"Bearer {self.token}"
        self.watch = RateLimitWatch(fetcher, RATELIMIT_RESERVE)

    def missing_token(self) -> str | None:
        """The problem to report when `token_env` names a variable holding no token, else None.

        The config meant a token to be used: going on without one loses nothing the instance shows to
        everyone, so a run that got through is partial rather than failed, and says which variable to
        fill in. The collector and the recheck both report it, in these words."""
        if not self.source.token_env or self.token:
            return None
        return (f"de omgevingsvariabele {self.source.token_env} uit token_env is niet gezet of leeg: "
                f"opgehaald zonder token, dus alleen wat {self.base} aan iedereen toont")

    @property
    def ratelimit(self) -> tuple[int | None, str | None] | None:
        """(remaining, reset) as the instance last reported them."""
        return self.watch.last

    @property
    def stopped(self) -> bool:
        """The rate limit ran out: no more requests this run."""
        return self.watch.stopped

    def get_json(self, path: str, params: list[tuple[str, str]] | None = None, *,
                 allow: tuple[int, ...] = ()) -> tuple[object, Response]:
        """GET and decode; a status in `allow` comes back with body None instead of raising."""
        _Pacer.wait(self.host, self.fetcher.sleep)
        url = self.base + path
        response = self.fetcher.get(url, params=params, headers=self.headers)
        self.watch.note(response)
        if response.status in allow:
            return None, response
        if response.status in AUTH_ERRORS:
            raise AuthRequired(self._refused(response))
        if response.status != 200:
            raise FetchError(f"HTTP {response.status} bij {url}: {_error_text(response)}")
        return json_body(response, url), response

    def room_for_more(self) -> bool:
        """Before the next page: wait for the rate-limit reset when nearly out, or stop when that is too far off."""
        return self.watch.room_for_more()

    def _refused(self, response: Response) -> str:
        """The error for a 401/422 on a timeline: which token to set, or that none will help."""
        if self.token:
            return (f"{self.base} weigert het toegangstoken uit {self.source.token_env} "
                    f"(HTTP {response.status}: {_error_text(response)}); maak een nieuw token met leesrechten")
        if set(self.hashtag_access().values()) == {"disabled"}:
            return f"{self.base} heeft zijn hashtag-tijdlijnen uitgeschakeld; ook met een token is er niets op te halen"
        return self.auth_message(f"geeft hashtag-tijdlijnen alleen aan ingelogde gebruikers (HTTP {response.status})")

    def auth_message(self, what: str) -> str:
        how = (f"zet een toegangstoken in de omgevingsvariabele {self.source.token_env}" if self.source.token_env
               else f"geef bron {self.source.name} een token_env in de configuratie en zet het token in die omgevingsvariabele")
        return f"{self.base} {what}: {how}"

    def hashtag_access(self) -> dict[str, str]:
        """What /api/v2/instance (Mastodon 4.5+) says about hashtag timelines, per 'local'/'remote':
        'public', 'authenticated' or 'disabled'; empty when the instance does not say."""
        try:
            response = self.fetcher.get(self.base + "/api/v2/instance", headers=self.headers)
            feeds = json.loads(response.body)["configuration"]["timelines_access"]["hashtag_feeds"]
            return {part: feeds[part] for part in PARTS if isinstance(feeds.get(part), str)}
        except (FetchError, ValueError, KeyError, TypeError):
            return {}


class _GroupRun:
    """One run over one tag group: the newest page, a forward walk over a gap, then the backfill."""

    def __init__(self, client: InstanceClient, group: list[str], cursor: Cursor | None, cutoff: datetime,
                 config: Config):
        self.client, self.group, self.cutoff = client, group, cutoff
        self.cursor = cursor or Cursor(tag_group=group_key(group))
        self.pages_left = config.harvest.max_pages
        self.normalizer = Normalizer(client, config)

    def run(self) -> Iterator[Batch]:
        try:
            yield from self._newest()
            if not self.cursor.backfill_done:
                yield from self._backfill()
        except AuthRequired:
            yield Batch(auth_required=True, ratelimit=self.client.ratelimit)   # stored, then the run fails
            raise

    def _page(self, *, counted: bool = True, **bounds: str) -> tuple[list, dict[str, dict[str, str]]] | None:
        """One timeline request with our own parameters; None when this run may not page further.

        The newest page is not `counted`: max_pages bounds the paging after it, so a page-limited
        backfill still moves on in every run.
        """
        if counted and self.pages_left <= 0 or not self.client.room_for_more():
            return None
        self.pages_left -= counted
        first, *others = self.group
        params = [("limit", str(PAGE_LIMIT)), *(("any[]", t) for t in others), *bounds.items()]
        body, response = self.client.get_json(f"/api/v1/timelines/tag/{quote(first, safe='')}", params)
        if not isinstance(body, list):
            raise FetchError(f"onverwacht antwoord van {response.url}: geen lijst met posts")
        return body, _link_params(response)

    def _batch(self, statuses: list, cursor: Cursor, *, horizon: bool = False) -> Batch:
        """A page as a Batch; with `horizon`, posts older than backfill_days are left out."""
        if horizon:
            statuses = [s for s in statuses if (_created(s) or self.cutoff) >= self.cutoff]
        posts, skipped, problems = self.normalizer.posts(statuses)
        self.cursor = cursor
        return Batch(posts=posts, skipped=skipped, problems=problems, cursor=cursor, ratelimit=self.client.ratelimit,
                     opted_out=self.normalizer.opted_out_accts(statuses))

    def _newest(self) -> Iterator[Batch]:
        old = self.cursor.newest_id
        page = self._page(counted=False)
        if page is None:
            return
        statuses, links = page
        ids = _ids(statuses)
        if not ids:
            yield self._batch(statuses, replace(self.cursor, backfill_done=self.cursor.backfill_done or old is None))
            return
        top, bottom = max(ids, key=_id_order), min(ids, key=_id_order)
        if old is None:
            # the first run: this page starts the backfill
            done = "next" not in links or _oldest(statuses) < self.cutoff
            yield self._batch(statuses, Cursor(self.cursor.tag_group, top, None if done else bottom, done), horizon=True)
            return
        if _id_order(bottom) <= _id_order(old):
            yield self._batch(statuses, replace(self.cursor, newest_id=top))
            return
        # more than a page is new: keep this page, then walk the gap forward from the old cursor
        yield self._batch(statuses, self.cursor)
        newest = old
        while newest != top:
            page = self._page(min_id=newest)
            if page is None:
                return      # the cursor stays after the last contiguous page; the next run goes on from there
            gap_ids = _ids(page[0])
            reached = not gap_ids or _id_order(max(gap_ids, key=_id_order)) >= _id_order(bottom)
            newest = top if reached else max(gap_ids, key=_id_order)
            yield self._batch(page[0], replace(self.cursor, newest_id=newest))
        page = self._page(max_id=old)      # the overlap below the old cursor, for late arrivals
        if page is not None:
            yield self._batch(page[0], self.cursor)

    def _backfill(self) -> Iterator[Batch]:
        """Older pages, newest first, until backfill_days, the end of the timeline, or max_pages."""
        while not self.cursor.backfill_done:
            page = self._page(max_id=self.cursor.backfill_max_id) if self.cursor.backfill_max_id else ([], {})
            if page is None:
                return
            statuses, links = page
            ids = _ids(statuses)
            done = not ids or "next" not in links or _oldest(statuses) < self.cutoff
            next_max = None if done else (links["next"].get("max_id") or min(ids, key=_id_order))
            current = self.cursor.backfill_max_id
            if next_max is not None and _id_order(next_max) >= _id_order(current):
                # a server that ignores max_id sends the same page again: following it would re-read that
                # page up to max_pages in every run; the cursor stays, so each next run costs one request
                batch = self._batch(statuses, self.cursor, horizon=True)
                batch.problems.append(
                    f"{self.client.base} negeert max_id: de pagina vóór de bewaarde positie gaf geen oudere posts; "
                    "het terughalen van oudere posts stopt voor deze run (de volgende run probeert het opnieuw)")
                yield batch
                return
            yield self._batch(statuses, replace(self.cursor, backfill_max_id=next_max, backfill_done=done), horizon=True)


class Normalizer:
    """Statuses (JSON) to Posts, boosts unwrapped, and the accounts that opted out (collect and recheck).

    Whether a post may be stored is decided on the way into the store (harvester.privacy.keep):
    a post of an opted-out account is still a Post here; the batch names the account in `opted_out`.
    """

    def __init__(self, client: InstanceClient, config: Config):
        self.host = client.host
        self.honour_indexable = config.harvest.honour_indexable

    def posts(self, statuses: list) -> tuple[list[Post], int, list[str]]:
        """The page's posts, how many were left out on purpose, and what could not be read."""
        uris = {s.get("id"): s.get("uri") for s in statuses if isinstance(s, dict)}
        return read_page(statuses, lambda item: self.post(item, uris), "status")

    def post(self, item: dict, uris: dict) -> Post | None:
        """A status as a Post; a boost becomes the boosted post. None: not public."""
        status = item.get("reblog") or item
        account = status["account"]
        uri = status["uri"]
        if status.get("visibility") != "public":
            return None
        content = status.get("content") or ""
        extracted = extract(content)
        tags = tuple(dict.fromkeys(normalize_tag(t["name"]) for t in status.get("tags") or [] if t.get("name")))
        reply_to = status.get("in_reply_to_id")
        return tidy(Post(
            key=uri,
            kind="mastodon",
            content_html=content,
            text=extracted.text,
            url=status.get("url") or uri,
            remote_id=str(status["id"]),
            spoiler_text=status.get("spoiler_text") or None,
            language=status.get("language") or None,
            published_at=to_utc_iso(parse_iso(status["created_at"])),
            edited_at=to_utc_iso(parse_iso(status["edited_at"])) if status.get("edited_at") else None,
            tags=tags or extracted.tags,
            links=extracted.links,
            mentions=tuple(self.acct(m["acct"]) for m in status.get("mentions") or []),
            in_reply_to=(uris.get(reply_to) or reply_to) if reply_to else None,
            replies_count=status.get("replies_count"),
            reblogs_count=status.get("reblogs_count"),
            favourites_count=status.get("favourites_count"),
            author=Author(
                key=self.acct(account["acct"]),
                display_name=account.get("display_name") or None,
                profile_url=account.get("url"),
                bot=bool(account.get("bot")),
            ),
        ))

    def opted_out_accts(self, statuses: list) -> tuple[str, ...]:
        """The accounts on a page that opted out (boosts: the boosted author), so stored posts can go too."""
        accts = []
        for item in statuses:
            status = (item.get("reblog") or item) if isinstance(item, dict) else None
            account = status.get("account") if isinstance(status, dict) else None
            if isinstance(account, dict) and isinstance(account.get("acct"), str) and self.opted_out(account):
                accts.append(self.acct(account["acct"]))
        return tuple(dict.fromkeys(accts))

    def opted_out(self, account: dict) -> bool:
        """#nobot, #noindex, #nosearch or #noarchive in the bio; noindex; indexable false if configured."""
        if account.get("noindex") is True:
            return True
        if self.honour_indexable and account.get("indexable") is False:
            return True
        bio, _ = html_to_text(account.get("note") or "")
        return bool(OPT_OUT_TAGS & set(hashtags(bio)))

    def acct(self, acct: str) -> str:
        """acct with its domain: Mastodon leaves the domain off for the instance's own accounts."""
        return (acct if "@" in acct else f"{acct}@{self.host}").lower()


def _id_order(status_id: str) -> tuple[int, str]:
    """Mastodon ids are numbers in text; compare them as numbers (shorter is smaller)."""
    return (len(status_id), status_id)


def _created(status: object) -> datetime | None:
    try:
        return parse_iso(status["created_at"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None


def _oldest(statuses: list) -> datetime:
    times = [t for t in map(_created, statuses) if t is not None]
    return min(times) if times else datetime.max.replace(tzinfo=UTC)


def _ids(statuses: list) -> list[str]:
    return [s["id"] for s in statuses if isinstance(s, dict) and isinstance(s.get("id"), str)]


def _link_params(response: Response) -> dict[str, dict[str, str]]:
    """rel -> query parameters of each URL in the Link header (parsed by httpx)."""
    return {
        link["rel"]: {k: v[0] for k, v in parse_qs(urlsplit(link["url"]).query).items()}
        for link in response.links.values() if link.get("rel")
    }


def mastodon_error(response: Response) -> str | None:
    """Mastodon's own error text (a JSON object with an "error"); None for an answer that is not one,
    such as a web server's or proxy's error page."""
    try:
        answer = json.loads(response.body)
    except ValueError:
        return None
    return str(answer["error"]) if isinstance(answer, dict) and "error" in answer else None


def _error_text(response: Response) -> str:
    return (mastodon_error(response) or "")[:200] or response.body[:200].decode("utf-8", "replace")

