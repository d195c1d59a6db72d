"""The framework-neutral ASGI middleware: Starlette, FastAPI, Quart, Django's ASGI... get sessions.

It does per HTTP request what the WSGI middleware does (see ``wsgi.py``): resolve the cookie
and the override header, answer refusals itself, put the context and a
:class:`SessionHandle` into the scope (``handle.py``'s keys), refuse unsafe requests from
another origin, check the CSRF token of unsafe requests of a session, and add the
``Set-Cookie`` header when the response starts. Other scope types (lifespan, websocket) pass
through untouched.

``scope["session"]`` (Starlette's ``request.session``) is the session's data as a plain dict,
as Starlette's own ``SessionMiddleware`` gives it, so code written for that one (Authlib's
OAuth client, say) works unchanged. When the response starts, the keys the request set,
changed or removed are written, before the cookie is decided (a visitor's first write starts
an anonymous session and sets its cookie); nothing is written when nothing changed
(``framework_session.py``). ``scope_session=False`` leaves ``scope["session"]`` alone.

The library's calls are synchronous (a store round trip), so the middleware runs them in a
worker thread with :func:`asyncio.to_thread` rather than block the event loop, and so does
the search of a form body for the CSRF token (bounded, but up to ``max_form_bytes`` of
parsing); it therefore
needs an asyncio-based server (uvicorn, hypercorn, Starlette's test client). Handlers that
change the session through the handle should be plain ``def`` endpoints (run in a thread by
Starlette and FastAPI) or call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.cookies import read_cookie, set_cookie_value
from platform_sessions.entrypoints.web.csrf import (
    OVERRIDE_HEADERS,
    OriginHeaders,
    csrf_token_matches,
    is_unsafe_request,
)
from platform_sessions.entrypoints.web.form_field import FormUnreadable, form_field, is_form
from platform_sessions.entrypoints.web.framework_session import data_changes, editable_copy, write_changes
from platform_sessions.entrypoints.web.handle import CONTEXT_KEY, HANDLE_KEY, SessionHandle
from platform_sessions.entrypoints.web.refusals import (
    Refusal,
    cross_origin_request,
    csrf_token_invalid,
    form_unreadable,
)
from platform_sessions.entrypoints.web.resolution import resolve_request
from platform_sessions.entrypoints.web.settings import WebSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AsgiCsrfExemption = Callable[[Scope], bool]
"""Says whether a request's route opted out of the CSRF check (e.g. a webhook)."""


def scope_headers(scope: Scope) -> dict[str, str]:
    """The request headers by lowercase name, decoded as latin-1: the first of repeated ones,
    except ``cookie``, which HTTP/2 clients may split into several fields (RFC 9113 8.2.3)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "cookie" and name in headers:
            headers[name] = f"{headers[name]}; {value}"
        else:
            headers.setdefault(name, value)
    return headers


async def send_refusal(send: Send, refusal: Refusal) -> None:
    """Answer a request with a refusal."""
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status.value,
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in refusal.header_list()],
        }
    )
    await send({"type": "http.response.body", "body": refusal.body, "more_body": False})


class AsgiSessionMiddleware:
    """Wraps an ASGI application; see the module docstring.

    ``csrf_exempt_paths`` lists paths (exact ``scope["path"]``) that skip the CSRF check;
    ``csrf_exempt`` decides it from the scope instead (the Starlette integration asks the
    router whether the endpoint was marked exempt). ``scope_session=False`` does not provide
    ``scope["session"]``.
    """

    def __init__(
        self,
        app: ASGIApp,
        sessions: PlatformSessions,
        *,
        settings: WebSettings | None = None,
        csrf_exempt: AsgiCsrfExemption | None = None,
        csrf_exempt_paths: Collection[str] = (),
        scope_session: bool = True,
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.settings = settings or WebSettings()
        self._csrf_exempt = csrf_exempt
        self._csrf_exempt_paths = frozenset(csrf_exempt_paths)
        self._scope_session = scope_session

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self.settings
        headers = scope_headers(scope)
        checked = self._is_checked(scope, headers)
        if checked and self._is_cross_origin(scope, headers):
            await send_refusal(send, cross_origin_request())
            return
        outcome = await asyncio.to_thread(
            resolve_request,
            self.sessions,
            read_cookie(headers.get("cookie"), settings.cookie_key),
            headers.get(settings.platform_header.lower()),
        )
        if outcome.refusal is not None:
            await send_refusal(send, outcome.refusal)
            return
        client = scope.get("client")
        handle = SessionHandle(
            self.sessions,
            outcome.context,
            user_agent=headers.get("user-agent", ""),
            ip_address=str(client[0]) if client else "",
            clear_cookie=outcome.clear_cookie,
        )
        scope[CONTEXT_KEY] = handle.context
        scope[HANDLE_KEY] = handle
        session = handle.session
        if checked and session is not None and not (session.is_anonymous and self._vouched(scope, headers)):
            try:
                supplied, receive = await self._supplied_csrf_token(headers, receive)
            except FormUnreadable as unreadable:
                await send_refusal(send, form_unreadable(unreadable.reason))
                return
            if not csrf_token_matches(session.csrf_token, supplied):
                await send_refusal(send, csrf_token_invalid())
                return
        read: dict[str, Any] = {}
        if self._scope_session:
            read, scope["session"] = editable_copy(handle.data), editable_copy(handle.data)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                if self._scope_session:
                    # The application may have replaced the dict: read it from the scope again.
                    changed, removed = data_changes(read, scope.get("session") or {})
                    if changed or removed:
                        await asyncio.to_thread(write_changes, handle, changed, removed)
                change = handle.seal()
                if change is not None:
                    cookie = set_cookie_value(settings, change).encode("latin-1")
                    message = {**message, "headers": [*message.get("headers", ()), (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _is_checked(self, scope: Scope, headers: dict[str, str]) -> bool:
        """Whether the request is unsafe (method or override) on a route that is not exempt."""
        unsafe = is_unsafe_request(
            scope.get("method", "GET"),
            (headers.get(name.lower()) for name in OVERRIDE_HEADERS),
            bytes(scope.get("query_string", b"")).decode("latin-1"),
        )
        return unsafe and not self._is_exempt(scope)

    def _is_cross_origin(self, scope: Scope, headers: dict[str, str]) -> bool:
        return self.settings.check_origin and self._origin_headers(scope, headers).say_cross_origin()

    def _vouched(self, scope: Scope, headers: dict[str, str]) -> bool:
        """The anonymous session's allowance instead of the token (see ``csrf.py``)."""
        return self._origin_headers(scope, headers).vouch_same_origin()

    def _origin_headers(self, scope: Scope, headers: dict[str, str]) -> OriginHeaders:
        host = headers.get("host")
        server = scope.get("server")
        if not host and server:
            host = f"{server[0]}:{server[1]}" if server[1] is not None else str(server[0])
        return OriginHeaders.of(
            sec_fetch_site=headers.get("sec-fetch-site"),
            origin=headers.get("origin"),
            scheme=str(scope.get("scheme", "http")),
            host=host,
            secure=self.settings.secure,
            trusted=self.settings.trusted_origins,
        )

    def _is_exempt(self, scope: Scope) -> bool:
        if scope.get("path", "") in self._csrf_exempt_paths:
            return True
        return self._csrf_exempt is not None and self._csrf_exempt(scope)

    async def _supplied_csrf_token(
        self, headers: dict[str, str], receive: Receive
    ) -> tuple[str | None, Receive]:
        from_header = headers.get(self.settings.csrf_header.lower())
        if from_header:
            return from_header, receive
        content_type = headers.get("content-type")
        if not is_form(content_type):
            return None, receive
        body = await _read_body(receive, self.settings.max_form_bytes, headers.get("content-length"))
        if body is None:
            return None, receive
        # Off the event loop: the search is linear and bounded, but up to max_form_bytes of it
        # on the loop would hold up every other request of the worker meanwhile.
        supplied = await asyncio.to_thread(
            form_field, content_type, body, self.settings.csrf_form_field, self.settings.form_limits
        )
        return supplied, _replaying(body, receive)


async def _read_body(receive: Receive, limit: int, declared_length: str | None) -> bytes | None:
    """The whole request body, or ``None`` if it is larger than ``limit`` (or the client left)."""
    if declared_length is not None and (not declared_length.isdigit() or int(declared_length) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that first gives the application the body already read, then the real one."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
