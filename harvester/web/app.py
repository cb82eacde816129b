"""The review app: `create_app(config)` builds it, `serve` runs it, `ServerThread` runs it beside other work.

One Store per app, opened in the lifespan on the event loop's thread; endpoints are async and
use it from that thread only (queries take milliseconds; password hashing goes to a worker thread).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import threading
import time
from pathlib import Path

import uvicorn
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Config
from ..dutch import counted, os_error, percent
from ..errors import HarvesterError
from ..store import Store
from ..timeutil import dutch_time
from . import auth, charter, exports, groups, guide, initiatives, movement, params, views
from .themes import ConfiguredThemes
from .totals import Counter
from .sanitize import safe_html

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)

# no remote anything: scripts, styles and forms only from here; no images at all except our own
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self';"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Adds the headers above to every response (static files included)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def bad_parameter(request: Request, exc: Exception) -> Response:
    """A parameter `params` refused: the error page, 400, inside the layout (to the queue's script:
    the message alone, `views.is_fetch`)."""
    if views.is_fetch(request):
        return PlainTextResponse(str(exc), status_code=400)
    return views.render(request, "error.html", 400, message=str(exc))


# Starlette's own refusals, said in Dutch: no route for the path, or a method the route does not take
HTTP_MESSAGES = {404: "Deze pagina bestaat niet.", 405: "Dit kan niet met deze pagina."}


async def http_error(request: Request, exc: HTTPException) -> Response:
    """A refusal Starlette makes itself (no route or static file, a method the route does not take):
    the error page inside the layout with Starlette's status and headers (such as Allow), instead of
    its English plain text. No endpoint has checked the session, so it is looked up here: a
    logged-in user keeps the menu, anyone else gets the page without it."""
    if not hasattr(request.state, "user") and (found := auth.current_user(request)):
        request.state.user, request.state.csrf = found
    message = HTTP_MESSAGES.get(exc.status_code, "Dit verzoek kan deze pagina niet afhandelen.")
    if views.is_fetch(request):
        response: Response = PlainTextResponse(message, status_code=exc.status_code)
    else:
        response = views.render(request, "error.html", exc.status_code, message=message)
    response.headers.update(exc.headers or {})
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    """Anything unforeseen: a plain Dutch page. Starlette sends it from outside the middleware
    stack (ServerErrorMiddleware), so it carries the security headers itself."""
    log.error("fout bij %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    if views.is_fetch(request):
        response: Response = PlainTextResponse(
            "Er ging iets mis op de server. Laad de pagina opnieuw om te zien wat er is opgeslagen.", status_code=500)
    else:
        response = HTMLResponse(
            "<!doctype html><html lang=\"nl\"><meta charset=\"utf-8\"><title>Fout · #innoverheid ideeën</title>"
            "<link rel=\"stylesheet\" href=\"/static/app.css\"><main><h1>Er ging iets mis</h1>"
            "<p>De server kon dit verzoek niet afhandelen. Probeer het later opnieuw.</p>"
            "<p><a href=\"/\">Terug naar de wachtrij</a></p></main></html>", status_code=500)
    response.raw_headers.extend(SECURITY_HEADERS)
    return response


class BodyTooLarge(HarvesterError):
    """Raised by BodyLimit's receive when a body grows past the limit."""


class BodyLimit:
    """Caps request bodies before anything reads or spools them.

    A Content-Length above `max_bytes` is refused (413) before a byte of the body is read; a
    body without one (chunked) is counted as it arrives and refused as soon as it passes the
    limit. No form of the app takes files, so a multipart body is refused outright (415): Starlette
    would spool its file parts to a temporary file while parsing it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if headers.get(b"content-type", b"").lower().lstrip().startswith(b"multipart/"):
            await self.refuse(send, 415, "Geweigerd: deze app neemt geen bestanden aan.")
            return
        length = headers.get(b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                await self.refuse(send, 400, "Ongeldige Content-Length.")
                return
            if int(length) > self.max_bytes:
                await self.refuse(send, 413, self.too_large())
                return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await self.refuse(send, 413, self.too_large())

    def too_large(self) -> str:
        return f"Geweigerd: het verzoek is groter dan {self.max_bytes // 1024} kB."

    @staticmethod
    async def refuse(send: Send, status: int, text: str) -> None:
        body = text.encode("utf-8")
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


# the client address the login throttle counts: a reverse proxy on this host (docs/deploy.md) passes
# it in X-Forwarded-For; nobody else is believed
PROXY = {"proxy_headers": True, "forwarded_allow_ips": "127.0.0.1"}


def create_app(config: Config, *, store: Store | None = None) -> Starlette:
    """The review app for `config`; pass `store` only from the thread that will serve it."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["safe_html"] = safe_html
    env.filters["dutch_time"] = dutch_time
    env.filters["getal"] = lambda n: f"{n:,}".replace(",", ".")   # Dutch thousands: 1.000.000
    # '1 post', '3 posts': {{ n | aantal("post", "posts") }}
    env.filters["aantal"] = lambda n, one, many: counted(n, one, many, shown=env.filters["getal"])
    env.filters["procent"] = percent   # '12%': {{ part | procent(whole) }}
    templates = Jinja2Templates(env=env)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        own = store is None
        app.state.store = store or Store(config.db_path)
        try:
            yield
        finally:
            if own:
                app.state.store.close()

    app = Starlette(routes=views.routes() + groups.routes() + movement.routes() + charter.routes() + exports.routes()
                    + guide.routes() + initiatives.routes() + [
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ], lifespan=lifespan, exception_handlers={
        params.BadParameter: bad_parameter, HTTPException: http_error, Exception: server_error})
    app.state.config = config
    app.state.templates = templates
    app.state.themes = ConfiguredThemes(config.nlp.themes)
    app.state.counter = Counter(config.db_path)
    app.state.overview_count = movement.OverviewCount(config.db_path)
    app.state.login_throttle = auth.LoginThrottle()
    app.state.hash_gate = auth.HashGate(config.web.login_hashes_at_once, waiting=4 * config.web.login_hashes_at_once)
    app.add_middleware(BodyLimit, max_bytes=config.web.max_body_kb * 1024)
    app.add_middleware(SecurityHeaders)   # added last: outermost, so BodyLimit's refusals get the headers too
    return app


def serve(config: Config, host: str | None = None, port: int | None = None) -> None:
    """Run the app until interrupted (`harvester serve`); AddressUnusable before anything starts."""
    host, port = host or config.web.host, port or config.web.port
    listening = listen(host, port)
    log.info("beoordelingsapp: %s/  (stoppen: Ctrl-C)", app_url(host, port))
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="info", server_header=False, **PROXY))
    with contextlib.suppress(KeyboardInterrupt):   # uvicorn stops cleanly, then raises Ctrl-C again
        server.run(sockets=[listening])


class AddressUnusable(HarvesterError):
    """The app's host and port cannot be listened on: another program (often the app itself) has the
    port, or the host is no address of this machine. Found before uvicorn runs, which would log it
    only in English, after start-up, and exit with a status of its own."""


# the reasons binding fails most, besides those `os_error` words
_BIND_ERRORS = {
    errno.EADDRINUSE: "is al in gebruik (draait de app al?)",
    errno.EADDRNOTAVAIL: "is niet te gebruiken: dat adres hoort niet bij deze computer",
}


def app_url(host: str, port: int) -> str:
    """The app's address as a browser takes it: an IPv6 host between brackets (http://[::1]:8000)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port` for uvicorn to serve on (port 0: one the system picks).

    Bound here rather than by uvicorn, so that a taken port is said in Dutch and nothing is started
    (no scheduler, no lock) before it is known that the app can run."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    # as uvicorn does: a port its previous run left in TIME_WAIT is free again at once
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # listening at once holds the port: a second socket with SO_REUSEADDR could still bind it
        # until then, and whichever listened second would fail inside uvicorn (its backlog: 2048)
        sock.listen(2048)
    except OSError as e:
        sock.close()
        reason = ("is niet te gebruiken: onbekend adres" if isinstance(e, socket.gaierror)
                  else _BIND_ERRORS.get(e.errno) or f"is niet te gebruiken: {os_error(e)}")
        raise AddressUnusable(f"poort {port} op {host} {reason}") from None
    return sock


class ServerThread:
    """The app served by uvicorn in a background thread (for `harvester up`, tests and benchmarks)."""

    def __init__(self, config: Config, host: str = "127.0.0.1", port: int = 0, app: Starlette | None = None):
        """`app`: one made by `create_app(config)` and changed (a test's extra route); else a new one."""
        self.socket = listen(host, port)   # AddressUnusable now, before the caller starts other work
        self.host, self.port = host, self.socket.getsockname()[1]
        self.app = app or create_app(config)
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, log_level="warning", server_header=False, lifespan="on", **PROXY))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True,
                                       name="review-app")

    @property
    def url(self) -> str:
        return app_url(self.host, self.port)

    def start(self, timeout: float = 10.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"de beoordelingsapp start niet op {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

