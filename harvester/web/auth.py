"""Passwords, sessions, CSRF and roles: the pieces every route of the review app is built from.

Routes are protected with `@login_required(role)`: it finds the server-side session behind the
cookie, refuses a state-changing request without the session's CSRF token (403), and refuses a
role that is too low (403). Other modules (the export download) use the same decorator.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from ..models import Role
from ..store import Store
from ..store.users import User

SESSION_COOKIE = "harvester_session"
LOGIN_COOKIE = "harvester_login"      # double-submit CSRF token for the login form (no session yet)
SESSION_LIFETIME = timedelta(hours=12)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
_dummy_hash: str | None = None

Endpoint = Callable[[Request], Awaitable[Response]]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """Verify a password; an unknown user costs the same time as a known one."""
    global _dummy_hash
    if password_hash is None:
        _dummy_hash = _dummy_hash or _hasher.hash(secrets.token_hex(8))
        password_hash, password = _dummy_hash, password + "x"
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is refused, in Dutch; None when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Een wachtwoord heeft minstens {MIN_PASSWORD_LENGTH} tekens."
    return None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LoginRules:
    """The login throttle's numbers (docs/security.md).

    Failures count per (name, client address) and per client address over all names, within
    `window`. Past the free ones an attempt must wait `first_wait`, doubling with each further
    failure, never more than `max_wait`, after the last failure: a name's owner is slowed, never
    locked out for more than a minute, and from another address not at all.
    """

    free_per_name: int = 5          # failures for one name from one address
    free_per_client: int = 20       # failures from one address, all names together (spraying)
    window: timedelta = timedelta(minutes=15)
    first_wait: timedelta = timedelta(seconds=2)
    max_wait: timedelta = timedelta(seconds=60)
    max_rows: int = 10_000          # login_failures never holds more rows than this


def _short_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class LoginThrottle:
    """Checks and counts a login attempt in one transaction before the password hash runs.

    `admit` records the attempt as a failure in advance, so concurrent attempts each see the
    others; `succeeded` forgets it (and the pair's earlier failures) when the password was right.
    `clock` is injectable for tests.
    """

    def __init__(self, rules: LoginRules = LoginRules(), clock: Callable[[], datetime] | None = None):
        self.rules = rules
        if clock is not None:
            self.clock = clock

    @staticmethod
    def clock() -> datetime:
        return datetime.now(UTC)

    @staticmethod
    def keys(name: str, client: str) -> tuple[str, str]:
        return _short_hash(name.strip().lower()), _short_hash(client)

    def _wait(self, now: datetime, count: int, last: str | None, free: int) -> float:
        if count < free or last is None:
            return 0.0
        wait = min(self.rules.first_wait * 2 ** min(count - free, 32), self.rules.max_wait)
        return max(0.0, (datetime.fromisoformat(last) + wait - now).total_seconds())

    def admit(self, store: Store, name: str, client: str) -> tuple[int | None, int]:
        """(row id of the recorded attempt, 0) to go ahead, or (None, seconds to wait)."""
        now = self.clock()
        waits: list[float] = []

        def wait(pair_count: int, pair_last: str | None, client_count: int, client_last: str | None) -> float:
            waits.append(max(self._wait(now, pair_count, pair_last, self.rules.free_per_name),
                             self._wait(now, client_count, client_last, self.rules.free_per_client)))
            return waits[-1]

        row_id = store.users.admit_attempt(*self.keys(name, client), now.isoformat(timespec="microseconds"),
                                           (now - self.rules.window).isoformat(timespec="microseconds"),
                                           wait, self.rules.max_rows)
        return row_id, 0 if row_id is not None else max(1, int(waits[-1] + 0.999))

    def succeeded(self, store: Store, row_id: int, name: str, client: str) -> None:
        store.users.forget_attempt(row_id)
        store.users.clear_failures(*self.keys(name, client))

    def not_tried(self, store: Store, row_id: int) -> None:
        """The attempt was turned away before its password was checked: it does not count."""
        store.users.forget_attempt(row_id)


class HashGate:
    """At most `at_once` password hashes run at a time (argon2 takes 64 MiB each) and at most
    `waiting` more wait for a turn; `enter` refuses the rest, which get a 429."""

    def __init__(self, at_once: int, waiting: int):
        self.at_once, self.limit, self.inside = at_once, at_once + waiting, 0
        self._slots: asyncio.Semaphore | None = None

    def enter(self) -> bool:
        if self.inside >= self.limit:
            return False
        self.inside += 1
        return True

    async def run(self, fn: Callable, *args):
        """Run `fn` in a worker thread when a slot is free; call only after `enter` returned True."""
        self._slots = self._slots or asyncio.Semaphore(self.at_once)
        try:
            async with self._slots:
                return await run_in_threadpool(fn, *args)
        finally:
            self.inside -= 1


def client_address(request: Request) -> str:
    """The client's address as the server saw it (behind a proxy on 127.0.0.1: X-Forwarded-For)."""
    return request.client.host if request.client else "onbekend"


def start_session(store: Store, user: User) -> str:
    """Create a session, ending the account's others; returns the cookie value (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    expires = (_now() + SESSION_LIFETIME).isoformat(timespec="milliseconds")
    store.users.create_session(token_digest(token), user.id, secrets.token_urlsafe(32), expires)
    return token


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), path="/",
                        httponly=True, samesite="lax", secure=secure)


def end_session(request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        request.app.state.store.users.end_session(token_digest(token))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=request.app.state.config.web.https)


def current_user(request: Request) -> tuple[User, str] | None:
    """The logged-in user and the session's CSRF token, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return request.app.state.store.users.session_user(token_digest(token))


async def submitted_csrf(request: Request) -> str:
    """The CSRF token a request carries: the X-CSRF-Token header, else the form field `csrf`."""
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf")
        return value if isinstance(value, str) else ""
    return ""


def tokens_match(expected: str, given: str) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected.encode(), given.encode())


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site is a place to go back to; anything else gives `default`.

    The target ends up in links and redirects, and browsers read a link leniently: they drop tabs
    and newlines and take a backslash for a slash, so '/<tab>/evil.example' leads to evil.example.
    Hence no whitespace, control character or backslash at all, and no scheme or host as
    `urlsplit` reads it.
    """
    if (not target or not target.startswith("/") or "\\" in target
            or any(c.isspace() or not c.isprintable() for c in target)):
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


def login_required(role: Role = Role.READER) -> Callable[[Endpoint], Endpoint]:
    """Decorate an endpoint: a session is required, CSRF is checked on changes, the role must suffice.

    Sets `request.state.user` and `request.state.csrf` for the endpoint and its templates.
    Without a session a page request is sent to the login page; anything else gets 401.
    """

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            found = current_user(request)
            if found is None:
                if request.method in SAFE_METHODS and request.headers.get("x-requested-with") != "fetch":
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
                return PlainTextResponse("Niet ingelogd: log eerst in.", status_code=401)
            user, csrf = found
            request.state.user, request.state.csrf = user, csrf
            if request.method not in SAFE_METHODS and not tokens_match(csrf, await submitted_csrf(request)):
                return PlainTextResponse(
                    "Geweigerd: het formulier was verlopen of kwam niet van deze site (CSRF). "
                    "Laad de pagina opnieuw en probeer het nog eens.", status_code=403)
            if not user.can(role):
                message = f"Geweigerd: uw rol ({user.role}) mag dit niet."
                if request.headers.get("x-requested-with") == "fetch":
                    return PlainTextResponse(message, status_code=403)
                from .views import render   # views imports this module

                return render(request, "error.html", 403, message=message)
            return await endpoint(request)

        return wrapper

    return decorate
