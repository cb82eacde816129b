"""Polite HTTP for every collector: one User-Agent, timeouts, a size cap, retries, waiting on 429.

Collectors get back either a complete `Response` (any status the caller has to judge, such as
304, 404, 410 or 422) or a `FetchError` whose message says in Dutch what went wrong; they never
see a half-read body or a raw httpx exception.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from .. import __version__
from ..config import HarvestConfig
from ..dutch import counted
from ..errors import HarvesterError
from ..timeutil import parse_iso, to_utc_iso

RETRY_STATUSES = {500, 502, 503, 504}
# a RateLimit-Reset below this is seconds from now, above it a Unix time (2001 and later)
EPOCH_THRESHOLD = 1_000_000_000
PERMANENT_REDIRECTS = {301, 308}


class FetchError(HarvesterError):
    """A request that did not give a usable response, even after retries."""


class ResponseTooLarge(FetchError):
    pass


class _SlowResponse(httpx.ReadTimeout):
    """A response that did not arrive in full within `max_request_seconds` (headers or body): a
    time-out like any other (retried, then reported as one), named apart so the message says which
    limit it hit. It never leaves this module: `Fetcher.request` turns it into a FetchError."""

    def __init__(self, limit: float):
        super().__init__(f"antwoord niet binnen {limit:g} s compleet")


class RateLimited(FetchError):
    """429 with a wait longer than we are willing to sit out in this run."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str                      # after redirects
    permanent_url: str | None     # set when every redirect on the way was permanent (301/308)
    links: dict[str, dict[str, str]] = field(default_factory=dict)   # the Link header by rel (httpx's parse)


def user_agent(contact: str) -> str:
    return f"innoverheid-harvester/{__version__} (+{contact})"


def seconds_until_reset(headers: httpx.Headers) -> float | None:
    """How long a 429 asks us to wait: Retry-After, else Mastodon's X-RateLimit-Reset, else the
    RateLimit-Reset of Bluesky's servers.

    Both resets are absolute times on the server's clock (Mastodon: ISO 8601; Bluesky: Unix
    seconds); measuring them against the server's own `Date` header makes the wait right even when
    our clock is off. A small RateLimit-Reset is taken as seconds from now, as the IETF draft
    the header comes from has it.
    """
    retry_after = headers.get("retry-after")
    if retry_after:
        if retry_after.strip().isdigit():
            return float(retry_after)
        try:
            return (_http_date(retry_after) - _server_now(headers)).total_seconds()
        except (TypeError, ValueError):
            return None
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            return (parse_iso(reset) - _server_now(headers)).total_seconds()
        except ValueError:
            return None
    reset = headers.get("ratelimit-reset", "").strip()
    if reset.isdigit():
        value = int(reset)
        return float(value) if value < EPOCH_THRESHOLD else value - _server_now(headers).timestamp()
    return None


class RateLimitWatch:
    """The rate limit as a server last reported it, and what to do when it runs low.

    Mastodon sends X-RateLimit-Remaining/-Reset, Bluesky RateLimit-Remaining/-Reset; both read
    the same way here. Before each further page a collector asks `room_for_more`: with enough
    requests left it goes on; nearly out, it waits for the reset when that is within
    `max_wait_seconds`, else it stops for this run (`stopped`) and the next run goes on.
    """

    def __init__(self, fetcher: Fetcher, reserve: int):
        self.fetcher, self.reserve = fetcher, reserve
        self.last: tuple[int | None, str | None] | None = None   # (remaining, reset on our clock)
        self.stopped = False

    def note(self, response: Response) -> None:
        headers = response.headers
        remaining = headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining") or ""
        if not remaining.strip().isdigit():
            return
        wait = seconds_until_reset(headers) if {"x-ratelimit-reset", "ratelimit-reset"} & set(headers.keys()) else None
        try:
            reset = to_utc_iso(datetime.now(UTC) + timedelta(seconds=max(wait, 0.0))) if wait is not None else None
        except OverflowError:   # past year 9999 (a reset in milliseconds): as good as none
            reset = None
        self.last = (int(remaining), reset)

    def room_for_more(self) -> bool:
        if self.last is None or self.last[0] is None or self.last[0] > self.reserve:
            return True
        reset = self.last[1]
        wait = (parse_iso(reset) - datetime.now(UTC)).total_seconds() if reset else None
        if wait is not None and wait <= self.fetcher.config.max_wait_seconds:
            self.fetcher.sleep(max(wait, 0.0) + 0.5)
            self.last = None
            return True
        self.stopped = True
        return False


def json_body(response: Response, where: str) -> object:
    """An API's answer read as JSON; a FetchError in Dutch when it is none. json's own messages are
    English, so the error says where the JSON stops and what the server called its answer (a proxy's
    login or maintenance page is HTML)."""
    try:
        return json.loads(response.body)
    except UnicodeDecodeError:
        place = "geen UTF-8"
    except json.JSONDecodeError as e:
        place = f"regel {e.lineno}, kolom {e.colno}"
    content_type = response.headers.get("content-type", "onbekend")
    raise FetchError(f"onleesbaar antwoord van {where}: geen geldige JSON ({place}; Content-Type {content_type})")


def _server_now(headers: httpx.Headers) -> datetime:
    try:
        return _http_date(headers["date"])
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)


def _http_date(value: str) -> datetime:
    """An HTTP date, always with a zone: the standard library gives a naive datetime for `-0000`
    (UTC, local zone unknown), which cannot be compared with the aware resets."""
    moment = parsedate_to_datetime(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Fetcher:
    """An httpx client with the project's manners. Counts its requests for the run record.

    A FetchError already when it is made, if the environment's proxy or certificate settings are
    unusable: every command that fetches then says so in Dutch."""

    def __init__(self, config: HarvestConfig, *, sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self.sleep = sleep
        self.requests = 0
        self.max_bytes = int(config.max_response_mb * 1024 * 1024)
        # built before the client: a header that is not ASCII is no proxy or certificate problem
        headers = httpx.Headers({"User-Agent": user_agent(config.user_agent_contact)})
        try:
            self.client = httpx.Client(
                # no network step outlasts the whole request either; a request given up on (`_once`)
                # ends at the latest when the run's connections close
                timeout=httpx.Timeout(min(config.timeout_seconds, config.max_request_seconds)),
                follow_redirects=True,
                max_redirects=config.max_redirects,
                headers=headers,
            )
        # httpx reads the proxy and certificates from the environment as it sets up: a proxy address
        # it cannot parse (InvalidURL), a proxy scheme it does not know (ValueError), a certificate
        # file that is missing or no certificate (OSError, ssl.SSLError) stop every request to come
        except (httpx.InvalidURL, ValueError, OSError) as e:
            raise FetchError(f"kon geen verbindingen opzetten ({type(e).__name__}: {e}); controleer de "
                             "instellingen voor proxy en certificaten in de omgeving, zoals HTTPS_PROXY en "
                             "SSL_CERT_FILE") from None

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, *, params: object = None, headers: dict[str, str] | None = None) -> Response:
        """GET with retries on timeouts, connection errors and 5xx, and waiting out a 429."""
        return self.request("GET", url, params=params, headers=headers)

    def post(self, url: str, *, json: object = None, headers: dict[str, str] | None = None) -> Response:
        """POST a JSON body (Bluesky's sign-in calls), with the same retries and waiting as `get`."""
        return self.request("POST", url, json=json, headers=headers)

    def request(self, method: str, url: str, *, params: object = None, json: object = None,
                headers: dict[str, str] | None = None) -> Response:
        attempt = 0
        while True:
            attempt += 1
            last_try = attempt > self.config.retries
            try:
                response = self._once(method, url, params, json, headers)
            except httpx.TooManyRedirects:
                raise FetchError(f"te veel doorverwijzingen (meer dan {self.config.max_redirects}): {url}") from None
            # another try would meet the same bytes or the same address: these two are not retried
            except httpx.DecodingError:
                raise FetchError(f"onleesbare compressie bij {url}: het antwoord is niet uit te pakken "
                                 "zoals de server opgeeft (Content-Encoding)") from None
            except httpx.InvalidURL:
                raise FetchError(f"ongeldige URL {url!r}: controleer de bron in de configuratie") from None
            except (httpx.TimeoutException, httpx.TransportError) as e:
                if last_try:
                    raise FetchError(f"{_describe(e)} bij {url} (na {counted(attempt, 'poging', 'pogingen')})") from None
                self._backoff(attempt)
                continue
            if response.status in RETRY_STATUSES and not last_try:
                self._backoff(attempt)
                continue
            if response.status in RETRY_STATUSES:
                raise FetchError(f"serverfout HTTP {response.status} bij {url} (na {counted(attempt, 'poging', 'pogingen')})")
            if response.status == 429:
                wait = seconds_until_reset(response.headers)
                if wait is None or wait > self.config.max_wait_seconds or last_try:
                    raise RateLimited(
                        f"te veel verzoeken (HTTP 429) bij {url}; opnieuw proberen "
                        + (f"over {wait:.0f} s" if wait is not None else "later")
                    )
                self.sleep(max(wait, 0.0) + 0.5)
                continue
            return response

    def _once(self, method: str, url: str, params: object, json: object, headers: dict[str, str] | None) -> Response:
        """One request, given `max_request_seconds` from connecting to the body's last byte.

        httpx bounds each network step (`timeout_seconds`), not the whole (encode/httpx#1450): a
        server that takes the request and then stays silent, or drips its headers or body, would
        hold the source for as long as it likes. So the request runs in a thread of its own, waited
        for until the deadline. Each network step of a request given up on is capped by the same
        limit, and its reading of the body stops at the deadline, but a server that drips its headers
        keeps every step short: such a request ends at the latest when the run's connections close.
        """
        self.requests += 1
        limit = self.config.max_request_seconds
        deadline = time.monotonic() + limit
        outcome: queue.Queue[Response | BaseException] = queue.Queue(maxsize=1)

        def run() -> None:
            try:
                outcome.put(self._read(method, url, params, json, headers, deadline))
            except BaseException as e:   # raised again in the waiting thread
                outcome.put(e)

        threading.Thread(target=run, name="harvester-request", daemon=True).start()
        try:
            result = outcome.get(timeout=limit)
        except queue.Empty:
            raise _SlowResponse(limit) from None
        if isinstance(result, httpx.TimeoutException) and time.monotonic() >= deadline:
            raise _SlowResponse(limit) from None   # a network step, capped by the same limit, ran into it first
        if isinstance(result, BaseException):
            raise result
        return result

    def _read(self, method: str, url: str, params: object, json: object, headers: dict[str, str] | None,
              deadline: float) -> Response:
        """The request itself (see `_once`); it stops reading a body that is still coming at `deadline`."""
        with self.client.stream(method, url, params=params, json=json, headers=headers) as r:
            declared = r.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise ResponseTooLarge(f"antwoord te groot ({int(declared)} bytes, grens {self.max_bytes}): {url}")
            chunks, size = [], 0
            for chunk in r.iter_bytes():
                if time.monotonic() > deadline:
                    raise _SlowResponse(self.config.max_request_seconds)
                size += len(chunk)
                if size > self.max_bytes:
                    raise ResponseTooLarge(f"antwoord te groot (meer dan {self.max_bytes} bytes): {url}")
                chunks.append(chunk)
            permanent = bool(r.history) and all(h.status_code in PERMANENT_REDIRECTS for h in r.history)
            return Response(
                status=r.status_code, headers=r.headers, body=b"".join(chunks), url=str(r.url),
                permanent_url=str(r.url) if permanent else None, links=r.links,
            )

    def _backoff(self, attempt: int) -> None:
        base = self.config.retry_backoff_seconds * 2 ** (attempt - 1)
        self.sleep(base * random.uniform(0.8, 1.2))


def _describe(error: Exception) -> str:
    if isinstance(error, _SlowResponse):
        return f"time-out ({error})"
    if isinstance(error, httpx.TimeoutException):
        return "time-out"
    if isinstance(error, httpx.ConnectError):
        return "geen verbinding"
    if isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return "verbinding verbroken"
    return f"netwerkfout ({type(error).__name__})"
