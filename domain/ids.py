"""Identifiers and their validation.

Ids are plain strings so that applications with integer or UUID user ids can pass them as
``str(user.id)``; validation keeps them short and printable because they end up in keys,
log lines and SQL columns.
"""

from __future__ import annotations

import secrets

from platform_sessions.domain.errors import InvalidInput

UserId = str
PlatformId = str
SessionId = str

MAX_ID_LENGTH = 255


def checked_id(value: object, what: str) -> str:
    """Return ``value`` if it is a non-empty printable string of at most 255 characters."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} must be a non-empty string")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInput(f"{what} is longer than {MAX_ID_LENGTH} characters")
    if not value.isprintable():
        raise InvalidInput(f"{what} contains unprintable characters")
    return value


def new_session_id() -> SessionId:
    """A random 128-bit internal session id; it never leaves the server."""
    return secrets.token_hex(16)


def new_platform_id() -> PlatformId:
    """A random 96-bit platform connection id, short enough for a header or a URL."""
    return secrets.token_hex(12)
