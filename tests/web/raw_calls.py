"""Driving the middlewares with raw environs and scopes: any bytes a client could send.

Test clients normalise what they send (header values, content types, bodies); these helpers
hand the middleware exactly the request a hostile client could, and report the status.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any
from wsgiref.types import WSGIApplication

from attrs import frozen

from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web.asgi import ASGIApp, Message

COOKIE = "__Host-platform_session"
HOST = "app.example"


@frozen
class Login:
    """A session (a logged-in one, or a visitor's): its cookie header value and its CSRF token."""

    cookie: str
    csrf_token: str


def login(sessions: PlatformSessions, user_id: str = "alice") -> Login:
    """A session started through the facade, as a browser would hold it."""
    started = sessions.start_session(user_id)
    return Login(cookie=f"{COOKIE}={started.token.value}", csrf_token=started.context.csrf_token)


def visit(sessions: PlatformSessions) -> Login:
    """A visitor's anonymous session (started by a first data write), as a browser holds it."""
    started = sessions.start_anonymous_session({"cart": ["book"]})
    return Login(cookie=f"{COOKIE}={started.token.value}", csrf_token=started.context.csrf_token)


def wsgi_status(
    app: WSGIApplication,
    method: str,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    path: str = "/change",
    query: str = "",
    content_length: str | None = None,
) -> int:
    """The status a WSGI application answers a raw request with (its body is drained)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": HOST,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "HTTP_HOST": HOST,
        "CONTENT_LENGTH": str(len(body)) if content_length is None else content_length,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    statuses: list[str] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: object = None) -> Any:
        statuses.append(status)
        return lambda data: None

    result: Iterable[bytes] = app(environ, start_response)
    for _ in result:
        pass
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return int(statuses[0].split(" ", 1)[0])


async def asgi_status(
    app: ASGIApp,
    method: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
    body: bytes = b"",
    *,
    path: str = "/change",
    query: bytes = b"",
    chunk_size: int = 64 * 1024,
) -> int:
    """The status an ASGI application answers a raw request with, its body sent in chunks."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", HOST.encode()), *headers],
        "client": ("127.0.0.1", 50000),
        "server": (HOST, 443),
    }
    chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)] or [b""]
    last = len(chunks) - 1
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < last} for i, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent
    return int(starts[0]["status"])
