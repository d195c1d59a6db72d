"""The framework-neutral WSGI middleware: any WSGI application (Flask, Django, Bottle...) gets sessions.

Per request:

0. an unsafe request from another origin (see 4) is refused before any store is asked;
1. read the session cookie and the override header; resolve them (``resolution.py``);
2. a refusal (503 store unavailable, 404/403 bad override) is answered here, the app is not called;
3. the context and a :class:`SessionHandle` go into the environ (``handle.py``'s keys); a
   visitor's anonymous session is in the handle (its data), the context stays ``None``;
4. an unsafe request (its method or a method override it carries) of a route that is not
   exempt is refused 403 if the browser says it comes from another origin (``csrf.py``),
   with a session or without; with a session it must echo the CSRF token (header, else form
   field): 403 otherwise, 400 if the form body cannot be searched (an anonymous session may
   instead show a same-origin ``Sec-Fetch-Site`` or ``Origin``: see ``csrf.py``);
5. the application runs; when it starts its response, the handle's cookie change (new token,
   or cleared) is added as a ``Set-Cookie`` header.

Plain WSGI code reaches the session with :func:`session_handle` and :func:`current_session`,
and asks for one on a route with :func:`require_session`.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Collection, Iterable
from types import TracebackType
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from platform_sessions.domain.context import SessionContext
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.cookies import read_cookie, set_cookie_value
from platform_sessions.entrypoints.web.csrf import (
    OVERRIDE_HEADERS,
    SAFE_METHODS,
    OriginHeaders,
    csrf_token_matches,
    is_unsafe_request,
)
from platform_sessions.entrypoints.web.form_field import FormUnreadable, form_field, is_form
from platform_sessions.entrypoints.web.handle import CONTEXT_KEY, HANDLE_KEY, SessionHandle
from platform_sessions.entrypoints.web.refusals import (
    Refusal,
    cross_origin_request,
    csrf_token_invalid,
    form_unreadable,
    login_required,
)
from platform_sessions.entrypoints.web.resolution import resolve_request
from platform_sessions.entrypoints.web.settings import WebSettings

WsgiCsrfExemption = Callable[[WSGIEnvironment], bool]
"""Says whether a request's route opted out of the CSRF check (e.g. a webhook)."""

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


def environ_header(environ: WSGIEnvironment, name: str) -> str | None:
    """A request header from the environ by its HTTP name, e.g. ``X-CSRF-Token``."""
    value = environ.get(_environ_key(name))
    return value if isinstance(value, str) else None


@functools.lru_cache(maxsize=64)
def _environ_key(name: str) -> str:
    # A handful of names (the settings' headers and the overrides), asked for on every request.
    return "HTTP_" + name.upper().replace("-", "_")


_OVERRIDE_KEYS = tuple(_environ_key(name) for name in OVERRIDE_HEADERS)


def refuse(refusal: Refusal, start_response: StartResponse) -> Iterable[bytes]:
    """Answer a request with a refusal."""
    start_response(refusal.status_line, refusal.header_list())
    return [refusal.body]


class SessionMiddleware:
    """Wraps a WSGI application; see the module docstring for what it does per request.

    ``csrf_exempt_paths`` lists paths (exact ``PATH_INFO``) that skip the CSRF check;
    ``csrf_exempt`` decides it from the environ instead (the Flask extension asks the URL map
    whether the view was marked exempt).
    """

    def __init__(
        self,
        app: WSGIApplication,
        sessions: PlatformSessions,
        *,
        settings: WebSettings | None = None,
        csrf_exempt: WsgiCsrfExemption | None = None,
        csrf_exempt_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.settings = settings or WebSettings()
        self._csrf_exempt = csrf_exempt
        self._csrf_exempt_paths = frozenset(csrf_exempt_paths)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        settings = self.settings
        checked = self._is_checked(environ)
        if checked and self._is_cross_origin(environ):
            return refuse(cross_origin_request(), start_response)
        outcome = resolve_request(
            self.sessions,
            read_cookie(environ.get("HTTP_COOKIE"), settings.cookie_key),
            environ_header(environ, settings.platform_header),
        )
        if outcome.refusal is not None:
            return refuse(outcome.refusal, start_response)
        handle = SessionHandle(
            self.sessions,
            outcome.context,
            user_agent=environ.get("HTTP_USER_AGENT", ""),
            ip_address=environ.get("REMOTE_ADDR", ""),
            clear_cookie=outcome.clear_cookie,
        )
        environ[CONTEXT_KEY] = handle.context
        environ[HANDLE_KEY] = handle
        session = handle.session
        if checked and session is not None and not (session.is_anonymous and self._vouched(environ)):
            try:
                supplied = self._supplied_csrf_token(environ)
            except FormUnreadable as unreadable:
                return refuse(form_unreadable(unreadable.reason), start_response)
            if not csrf_token_matches(session.csrf_token, supplied):
                return refuse(csrf_token_invalid(), start_response)

        def start_with_cookie(
            status: str, headers: list[tuple[str, str]], exc_info: _ExcInfo | None = None
        ) -> Callable[[bytes], object]:
            change = handle.seal()
            if change is not None:
                headers = [*headers, ("Set-Cookie", set_cookie_value(settings, change))]
            return start_response(status, headers, exc_info)

        return self.app(environ, start_with_cookie)

    def _is_checked(self, environ: WSGIEnvironment) -> bool:
        """Whether the request is unsafe (method or override) on a route that is not exempt."""
        if (
            environ.get("REQUEST_METHOD", "GET") in SAFE_METHODS
            and "_method=" not in environ.get("QUERY_STRING", "")
            and not any(environ.get(key) for key in _OVERRIDE_KEYS)
        ):
            # The common read (a safe method spelled plainly, no override anywhere): what
            # is_unsafe_request would answer, without its normalising and list building.
            return False
        unsafe = is_unsafe_request(
            environ.get("REQUEST_METHOD", "GET"),
            (environ_header(environ, name) for name in OVERRIDE_HEADERS),
            environ.get("QUERY_STRING", ""),
        )
        return unsafe and not self._is_exempt(environ)

    def _is_cross_origin(self, environ: WSGIEnvironment) -> bool:
        return self.settings.check_origin and self._origin_headers(environ).say_cross_origin()

    def _vouched(self, environ: WSGIEnvironment) -> bool:
        """The anonymous session's allowance instead of the token (see ``csrf.py``)."""
        return self._origin_headers(environ).vouch_same_origin()

    def _origin_headers(self, environ: WSGIEnvironment) -> OriginHeaders:
        host = environ.get("HTTP_HOST")
        if not host and environ.get("SERVER_NAME"):
            host = f"{environ['SERVER_NAME']}:{environ.get('SERVER_PORT', '')}".rstrip(":")
        return OriginHeaders.of(
            sec_fetch_site=environ_header(environ, "Sec-Fetch-Site"),
            origin=environ_header(environ, "Origin"),
            scheme=environ.get("wsgi.url_scheme", "http"),
            host=host,
            secure=self.settings.secure,
            trusted=self.settings.trusted_origins,
        )

    def _is_exempt(self, environ: WSGIEnvironment) -> bool:
        if environ.get("PATH_INFO", "") in self._csrf_exempt_paths:
            return True
        return self._csrf_exempt is not None and self._csrf_exempt(environ)

    def _supplied_csrf_token(self, environ: WSGIEnvironment) -> str | None:
        from_header = environ_header(environ, self.settings.csrf_header)
        if from_header:
            return from_header
        if not is_form(environ.get("CONTENT_TYPE")):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if length <= 0 or length > self.settings.max_form_bytes:
            return None
        body = environ["wsgi.input"].read(length)
        # The application reads the form again: hand it the same bytes.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return form_field(
            environ.get("CONTENT_TYPE"), body, self.settings.csrf_form_field, self.settings.form_limits
        )


def session_handle(environ: WSGIEnvironment) -> SessionHandle:
    """The request's :class:`SessionHandle`, put there by :class:`SessionMiddleware`."""
    handle = environ.get(HANDLE_KEY)
    if not isinstance(handle, SessionHandle):
        raise RuntimeError("no session handle in the environ: wrap the application in SessionMiddleware")
    return handle


def current_session(environ: WSGIEnvironment) -> SessionContext | None:
    """The request's session context as of now (``None`` when anonymous or logged out)."""
    return session_handle(environ).context


def require_session(app: WSGIApplication) -> WSGIApplication:
    """Wrap a WSGI application (a route) so that anonymous requests get a clean 401."""

    @functools.wraps(app)
    def guarded(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if current_session(environ) is None:
            return refuse(login_required(), start_response)
        return app(environ, start_response)

    return guarded
