"""The session cookie: reading it from a ``Cookie`` header, what a response must do to it, and
the ``Set-Cookie`` value that does it."""

from __future__ import annotations

from attrs import field, frozen

from platform_sessions.entrypoints.web.settings import WebSettings

# A Cookie header larger than this is not from a browser we issued a cookie to.
MAX_COOKIE_HEADER = 16 * 1024


@frozen
class SetCookie:
    """Send the cookie with a new token, kept by the browser for ``max_age`` seconds, or until
    the browser closes when ``max_age`` is ``None`` (a browser-session cookie: no ``Max-Age``)."""

    token: str = field(repr=False)  # a live credential: never in a log line or a traceback
    max_age: int | None


@frozen
class ClearCookie:
    """Make the browser drop the cookie (logged out, or the cookie named no live session)."""


CookieChange = SetCookie | ClearCookie


def read_cookie(cookie_header: str | None, name: str) -> str | None:
    """The value of the first cookie called ``name`` in a ``Cookie`` request header.

    Deliberately lenient about other cookies (an application's own cookies may hold anything
    and must not make the session unreadable), and strict about nothing: the token's own
    format is checked by the library before any store is touched.
    """
    if not cookie_header or len(cookie_header) > MAX_COOKIE_HEADER:
        return None
    for pair in cookie_header.split(";"):
        key, separator, value = pair.partition("=")
        if separator and key.strip() == name:
            return value.strip().strip('"')
    return None


def _attributes(settings: WebSettings, max_age: int | None) -> str:
    # Path=/ and no Domain always: required by the __Host- prefix, and right without it too
    # (the session belongs to the whole origin, and to no other host).
    parts = ["Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.insert(0, f"Max-Age={max_age}")
    if settings.secure:
        parts.append("Secure")
    return "; ".join(parts)


def session_cookie(settings: WebSettings, token: str, max_age: int | None) -> str:
    """``Set-Cookie`` value carrying ``token`` for ``max_age`` seconds (``None``: until the
    browser closes)."""
    kept_for = None if max_age is None else max(max_age, 0)
    return f"{settings.cookie_key}={token}; {_attributes(settings, kept_for)}"


def cleared_session_cookie(settings: WebSettings) -> str:
    """``Set-Cookie`` value that makes the browser drop the session cookie."""
    return f"{settings.cookie_key}=; {_attributes(settings, 0)}"


def set_cookie_value(settings: WebSettings, change: CookieChange) -> str:
    """A ``Set-Cookie`` value that carries the new token or clears the cookie."""
    if isinstance(change, SetCookie):
        return session_cookie(settings, change.token, change.max_age)
    return cleared_session_cookie(settings)
