"""Passwords, sessions, CSRF and roles: the pieces every route of the review app is built from.

Routes are protected with `@login_required(role)`: it finds the server-side session behind the
cookie, refuses a state-changing request without the session's CSRF token (403), and refuses a
role that is too low (403). Other modules (the export download) use the same decorator.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from ..store import Store
from ..store.users import User

SESSION_COOKIE = "harvester_session"
LOGIN_COOKIE = "harvester_login"      # double-submit CSRF token for the login form (no session yet)
SESSION_LIFETIME = timedelta(hours=12)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MIN_PASSWORD_LENGTH = 10

# slow-down: this many failures in the window are free; after that each attempt must wait
# 2, 4, 8, ... seconds (at most MAX_WAIT) after the previous failure
FREE_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
MAX_WAIT = timedelta(minutes=5)

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


def login_wait_seconds(store: Store, name: str) -> int:
    """Seconds `name` must still wait before the next login attempt (0: go ahead)."""
    count, last = store.users.failures_since(name.lower(), (_now() - FAILURE_WINDOW).isoformat())
    if count < FREE_FAILURES or last is None:
        return 0
    wait = min(timedelta(seconds=2 ** (count - FREE_FAILURES + 1)), MAX_WAIT)
    remaining = datetime.fromisoformat(last) + wait - _now()
    return max(0, int(remaining.total_seconds() + 0.999))


def record_login_failure(store: Store, name: str) -> None:
    store.users.record_failure(name.lower(), (_now() - timedelta(days=1)).isoformat())


def start_session(store: Store, user: User) -> str:
    """Create a session; returns the cookie value (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    expires = (_now() + SESSION_LIFETIME).isoformat(timespec="milliseconds")
    store.users.create_session(token_digest(token), user.id, secrets.token_urlsafe(32), expires)
    store.users.clear_failures(user.name.lower())
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
    """Only a local path is a place to go back to (no //host, no scheme)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def login_required(role: str = "lezer") -> Callable[[Endpoint], Endpoint]:
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
                return PlainTextResponse(f"Geweigerd: uw rol ({user.role}) mag dit niet.", status_code=403)
            return await endpoint(request)

        wrapper.required_role = role  # type: ignore[attr-defined]
        return wrapper

    return decorate
