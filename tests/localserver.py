"""A real HTTP server on 127.0.0.1 for tests: scripted replies per path, and every request recorded.

GET and POST both come here. A route is either a list of `Reply` objects served in turn (the last one repeats) or a function
that gets the `Request` and returns a `Reply`. Replies can misbehave the way real servers do:
answer slowly, drip the body byte by byte, drop the connection, or send a body larger than any cap.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0            # seconds before answering (for time-outs)
    reset: bool = False           # close the socket without answering (connection reset)
    stream_bytes: int = 0         # send this many bytes of filler after `body`, without Content-Length
    trickle: float = 0.0          # seconds between the body's bytes, sent one at a time (every read stays short)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""             # what a POST sent


Route = list[Reply] | Callable[[Request], Reply]


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._turns: dict[str, int] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # a short poll interval: stop() waits for one, and every test stops a server
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, *replies: Reply | Callable[[Request], Reply]) -> None:
        """Serve `replies` in turn on `path` (query string ignored), or call a handler function."""
        if len(replies) == 1 and callable(replies[0]):
            self.routes[path] = replies[0]
        else:
            self.routes[path] = list(replies)  # type: ignore[arg-type]
        self._turns[path] = 0

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _reply_for(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            route = self.routes.get(request.path)
            if route is None:
                return Reply(404, b"not found")
            if callable(route):
                return route(request)
            turn = self._turns[request.path]
            self._turns[request.path] = turn + 1
            return route[min(turn, len(route) - 1)]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self._answer("GET", b"")

            def do_POST(self) -> None:  # noqa: N802
                length = self.headers.get("Content-Length", "0")
                self._answer("POST", self.rfile.read(int(length)) if length.isdigit() else b"")

            def _answer(self, method: str, sent: bytes) -> None:
                parts = urlsplit(self.path)
                request = Request(method, parts.path, parse_qs(parts.query), dict(self.headers.items()), sent)
                reply = server._reply_for(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.reset:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    # close the descriptor itself: socket.close() waits for rfile/wfile, so the handler
                    # used to wait for a next request and the client saw a time-out, not a reset
                    self.close_connection = True
                    os.close(self.connection.detach())
                    return
                body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                try:
                    if "Date" in reply.headers:   # a scripted server clock (clock-skew tests)
                        self.log_request(reply.status)
                        self.send_response_only(reply.status)
                    else:
                        self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if reply.stream_bytes:
                        self.send_header("Connection", "close")
                        self.end_headers()
                        self.wfile.write(body)
                        chunk = b"x" * 65536
                        for _ in range(reply.stream_bytes // len(chunk)):
                            self.wfile.write(chunk)
                        self.close_connection = True
                        return
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if reply.trickle:
                        for i in range(len(body)):   # ends early with a BrokenPipeError once the client gives up
                            self.wfile.write(body[i:i + 1])
                            time.sleep(reply.trickle)
                    elif reply.status != 304:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
