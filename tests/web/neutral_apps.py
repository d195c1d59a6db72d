"""Tiny framework-free WSGI and ASGI applications that show what the middlewares hand them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIEnvironment

from platform_sessions.entrypoints.web import CONTEXT_KEY, require_session, session_handle
from platform_sessions.entrypoints.web.asgi import Receive, Scope, Send
from platform_sessions.entrypoints.web.handle import HANDLE_KEY, SessionHandle


def _act(handle: SessionHandle, path: str) -> None:
    if path == "/login":
        handle.start("alice")
    elif path == "/logout":
        handle.end()
    elif path == "/rotate":
        handle.rotate()


def _describe(handle: SessionHandle, body: bytes) -> bytes:
    context = handle.context
    return json.dumps(
        {
            "user": context.user_id if context else None,
            "platform": context.platform_id if context else None,
            "is_override": context.is_override if context else None,
            "csrf_token": context.csrf_token if context else None,
            "body": body.decode("latin-1"),
        }
    ).encode()


def wsgi_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Acts on /login, /logout, /rotate; echoes the session and the body it received."""
    handle = session_handle(environ)
    assert environ[CONTEXT_KEY] is handle.context or environ["PATH_INFO"] in ("/login", "/logout", "/rotate")
    _act(handle, environ["PATH_INFO"])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    start_response("200 OK", [("Content-Type", "application/json")])
    return [_describe(handle, body)]


@require_session
def wsgi_private(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Only for logged-in requests."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"secret"]


def wsgi_late_login(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Wrongly starts a session after the response started."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    session_handle(environ).start("alice")
    return [b"too late"]


async def asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI twin of :func:`wsgi_app`; answers lifespan so the test client can start it."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    handle: SessionHandle = scope[HANDLE_KEY]
    _act(handle, scope["path"])
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": _describe(handle, body)})
