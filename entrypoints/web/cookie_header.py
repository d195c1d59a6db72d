"""The ``Set-Cookie`` header value a handle's cookie change calls for."""

from __future__ import annotations

from platform_sessions.entrypoints.web.cookies import cleared_session_cookie, session_cookie
from platform_sessions.entrypoints.web.handle import CookieChange, SetCookie
from platform_sessions.entrypoints.web.settings import WebSettings


def set_cookie_value(settings: WebSettings, change: CookieChange) -> str:
    """A ``Set-Cookie`` value that carries the new token or clears the cookie."""
    if isinstance(change, SetCookie):
        return session_cookie(settings, change.token, change.max_age)
    return cleared_session_cookie(settings)
