"""How the web middlewares name and guard the session cookie, the CSRF token and the override."""

from __future__ import annotations

import re

from attrs import field, frozen

from platform_sessions.domain.errors import InvalidInput

HOST_PREFIX = "__Host-"
_COOKIE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
_FORM_FIELD = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _cookie_name(_: object, __: object, value: str) -> None:
    if not _COOKIE_NAME.fullmatch(value) or value.startswith(("__Host-", "__Secure-")):
        raise InvalidInput("a cookie name is 1 to 64 letters, digits, '_' or '-', without a __ prefix")


def _header_name(_: object, __: object, value: str) -> None:
    if not _HEADER_NAME.fullmatch(value):
        raise InvalidInput("a header name is 1 to 64 letters, digits or '-'")


def _form_field(_: object, __: object, value: str) -> None:
    if not _FORM_FIELD.fullmatch(value):
        raise InvalidInput("a form field name is 1 to 64 letters, digits, '_', '.' or '-'")


def _positive(_: object, __: object, value: int) -> None:
    if value < 1:
        raise InvalidInput("max_form_bytes must be at least 1")


@frozen
class WebSettings:
    """Cookie, CSRF and override settings shared by the WSGI and ASGI middlewares.

    - ``cookie_name``: the session cookie's base name. With ``secure`` (the default) the cookie
      is sent as ``__Host-<name>``: the browser then insists on Secure, ``Path=/`` and no
      ``Domain``, so no subdomain can plant or overwrite it.
    - ``secure``: ``False`` only for a plain-HTTP development server (the demo on
      127.0.0.1); the cookie then has neither ``Secure`` nor the ``__Host-`` prefix.
    - ``csrf_header`` / ``csrf_form_field``: where unsafe requests echo the session's
      synchronizer token (the header is checked first; the form field of an
      ``application/x-www-form-urlencoded`` or ``multipart/form-data`` body otherwise).
    - ``platform_header``: the per-request platform override (one browser tab working on
      another platform than the session's active one); validated, never stored.
    - ``max_form_bytes``: the largest body searched for the CSRF form field; a bigger unsafe
      request must send the token in the header.
    """

    cookie_name: str = field(default="platform_session", validator=_cookie_name)
    secure: bool = True
    csrf_header: str = field(default="X-CSRF-Token", validator=_header_name)
    csrf_form_field: str = field(default="csrf_token", validator=_form_field)
    platform_header: str = field(default="X-Platform-Id", validator=_header_name)
    max_form_bytes: int = field(default=1024 * 1024, validator=_positive)

    @property
    def cookie_key(self) -> str:
        """The cookie's name on the wire: ``__Host-`` prefixed when Secure."""
        return f"{HOST_PREFIX}{self.cookie_name}" if self.secure else self.cookie_name
