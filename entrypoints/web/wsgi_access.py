"""Reaching the session from plain WSGI code, and asking for one on a route."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from platform_sessions.domain.context import SessionContext
from platform_sessions.entrypoints.web.handle import SessionHandle
from platform_sessions.entrypoints.web.keys import HANDLE_KEY
from platform_sessions.entrypoints.web.refusals import login_required
from platform_sessions.entrypoints.web.wsgi import refuse


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
