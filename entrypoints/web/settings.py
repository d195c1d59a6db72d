"""How the web middlewares name and guard the session cookie, the CSRF token and the override."""

from __future__ import annotations

import re
from collections.abc import Iterable

from attrs import field, frozen

from platform_sessions.domain.errors import InvalidInput
from platform_sessions.entrypoints.web.csrf import trusted_origin
from platform_sessions.entrypoints.web.form_field import FormLimits

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


def _positive(_: object, attribute: object, value: int) -> None:
    if value < 1:
        raise InvalidInput(f"{getattr(attribute, 'name', 'a limit')} must be at least 1")


def _trusted_origins(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise InvalidInput("trusted_origins is a collection of origins, not one string")
    return tuple(trusted_origin(value) for value in values)


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
    - ``max_form_parts``: the most parts (multipart) or fields (urlencoded) looked at before
      the token is found; a body beyond it (or malformed) is answered 400.
    - ``check_origin``: refuse unsafe requests that the browser says come from another origin
      (``Sec-Fetch-Site``, ``Origin``), anonymous ones included (login CSRF). On by default;
      off only for an application whose own pages live on another origin and cannot list it.
    - ``trusted_origins``: other origins allowed to send unsafe requests, as
      ``https://admin.example`` or ``https://*.example.com`` (any subdomain), like Django's
      ``CSRF_TRUSTED_ORIGINS``. They still need the CSRF token.
    """

    cookie_name: str = field(default="platform_session", validator=_cookie_name)
    secure: bool = True
    csrf_header: str = field(default="X-CSRF-Token", validator=_header_name)
    csrf_form_field: str = field(default="csrf_token", validator=_form_field)
    platform_header: str = field(default="X-Platform-Id", validator=_header_name)
    max_form_bytes: int = field(default=1024 * 1024, validator=_positive)
    max_form_parts: int = field(default=1000, validator=_positive)
    check_origin: bool = True
    trusted_origins: tuple[str, ...] = field(default=(), converter=_trusted_origins)

    @property
    def form_limits(self) -> FormLimits:
        """The limits of the CSRF form-field lookup."""
        return FormLimits(max_parts=self.max_form_parts, max_urlencoded_fields=self.max_form_parts)

    @property
    def cookie_key(self) -> str:
        """The cookie's name on the wire: ``__Host-`` prefixed when Secure."""
        return f"{HOST_PREFIX}{self.cookie_name}" if self.secure else self.cookie_name
