"""Call a WSGI or ASGI application in process, as a browser with one cookie jar would.

No server, no socket: the request is a prepared environ (or scope) handed to the app, so what
is measured is the framework and its session layer, not an HTTP parser. The client keeps the
cookies the app sets (``Set-Cookie`` name=value; a ``Max-Age=0`` or an empty value drops it)
and the body of the last response, so a view can hand back what the next request must echo
(a CSRF token after a rotation).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
AsgiApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]
HOST = "bench.example"


class CookieJar:
    """The cookies one browser holds for the benchmark's one site."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def take(self, set_cookie: str) -> None:
        pair, _, attributes = set_cookie.partition(";")
        name, _, value = pair.strip().partition("=")
        if not value or "max-age=0" in attributes.lower().replace(" ", ""):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


class Response:
    def __init__(self) -> None:
        self.status = 0
        self.body = b""


class WsgiClient:
    """One browser calling a WSGI app."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.jar = CookieJar()
        self.last = Response()

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> Response:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": HOST,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": HOST,
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": "0",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        cookie = self.jar.header()
        if cookie:
            environ["HTTP_COOKIE"] = cookie
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        response = Response()

        def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            response.status = int(status.split(" ", 1)[0])
            for name, value in response_headers:
                if name.lower() == "set-cookie":
                    self.jar.take(value)
            return lambda _: None

        chunks = self.app(environ, start_response)
        try:
            response.body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        self.last = response
        return response


class AsgiClient:
    """One browser calling an ASGI app, on an event loop of its own that stays open."""

    def __init__(self, app: AsgiApp, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.loop = loop
        self.jar = CookieJar()
        self.last = Response()

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> Response:
        return self.loop.run_until_complete(self._request(method, path, headers or {}))

    async def _request(self, method: str, path: str, headers: dict[str, str]) -> Response:
        raw = [(b"host", HOST.encode())]
        cookie = self.jar.header()
        if cookie:
            raw.append((b"cookie", cookie.encode()))
        raw += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": raw,
            "client": ("127.0.0.1", 50000),
            "server": (HOST, 80),
        }
        response = Response()
        sent_request = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.sleep(3600)  # a client that stays connected until the app is done
            return {"type": "http.disconnect"}

        body: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                response.status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"set-cookie":
                        self.jar.take(value.decode("latin-1"))
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await self.app(scope, receive, send)
        response.body = b"".join(body)
        self.last = response
        return response
