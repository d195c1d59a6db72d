"""Request forgery checks: what makes the middlewares believe an unsafe request is the user's.

Two defences, both applied by the WSGI and ASGI middlewares to every unsafe request of a route
that is not exempt:

**The synchronizer token.** Unsafe requests of a session must echo its CSRF token. A
cross-site page can make the browser send the session cookie (SameSite=Lax still allows
top-level navigations, and older browsers ignore it) but cannot read the token, which the
application renders into its own pages. The token is checked only on requests that carry a
valid session: a request without one has no session for a forger to act with (login CSRF is
the origin check's business, below).

A visitor's anonymous session is checked like a logged-in one (its token is what the
templates get), with one allowance: without the token, an unsafe request of an anonymous
session passes if the browser vouches that it comes from this origin (``Sec-Fetch-Site:
same-origin``, or an ``Origin`` that is the request's own or a trusted one). The page that
first wrote to a visitor's session was rendered before the session, and its token, existed
(``session["next"] = ...`` on the login page, say), so its form cannot carry the token; and
what a forger could do with an anonymous session is write the visitor's own anonymous data,
which those headers already stop in every browser that sends them. A request with neither the
token nor such a header is refused, as for a logged-in session.

Method overrides. An application may let a request say it is another method
(``X-HTTP-Method-Override: DELETE`` on a GET, ``?_method=DELETE``), with a middleware of its
own wrapped inside ours, which would then see a safe GET that the application serves as a
DELETE. So a request is unsafe when its method *or any override it carries* is unsafe: the
check applies to the method the application will act on. A ``_method`` field in a form body
is not looked for: every common override (Rack, Symfony, Laravel, express) reads it only on
POST, which is unsafe already.

**The origin check**: what the browser says about where a request comes from. Defence in
depth beside the synchronizer token, and the only defence where there is no token yet (a
login form: login CSRF). It follows Go's ``http.CrossOriginProtection`` and the Fetch
Metadata recommendations, with Django's ``CSRF_TRUSTED_ORIGINS`` for other origins allowed:

1. an ``Origin`` in ``trusted_origins`` is allowed;
2. ``Sec-Fetch-Site`` (sent by every current browser, and unforgeable by a page): ``same-origin``
   and ``none`` (the user typed the address or used a bookmark) are allowed, ``same-site`` and
   ``cross-site`` refused;
3. otherwise ``Origin``: allowed if it is the request's own origin (scheme and ``Host``),
   refused if it is another one or ``null`` (sandboxed frames, some redirects);
4. neither header: not a browser's request (or a very old browser), so nothing is learnt and
   the token rule alone decides.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Collection, Iterable
from urllib.parse import unquote_plus

from attrs import frozen

from platform_sessions.domain.errors import InvalidInput

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
OVERRIDE_HEADERS = ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override")
_QUERY_OVERRIDE = re.compile(r"(?:^|[&;])_method=([^&;]*)")
# A method name is short; a longer override value is no method and is treated as unsafe.
_MAX_METHOD = 32

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_FORBIDDEN_IN_HOST = frozenset("/?#@\\ \t\r\n")
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
REFUSED_FETCH_SITES = frozenset({"same-site", "cross-site"})
MAX_ORIGIN = 2048


def is_unsafe_method(method: str) -> bool:
    """Whether a request with this method may change state (and so must prove its origin)."""
    return method.strip().upper() not in SAFE_METHODS


def is_unsafe_request(method: str, override_headers: Iterable[str | None], query_string: str) -> bool:
    """Whether the request's method, or a method override it carries, may change state."""
    if is_unsafe_method(method):
        return True
    overrides = [value for value in override_headers if value and value.strip()]
    if "_method=" in query_string:
        found = (match.group(1) for match in _QUERY_OVERRIDE.finditer(query_string))
        overrides.extend(unquote_plus(value) for value in found if value)
    return any(len(value) > _MAX_METHOD or is_unsafe_method(value) for value in overrides)


def csrf_token_matches(expected: str, supplied: str | None) -> bool:
    """Compare in constant time, so the response time leaks nothing of the expected token."""
    if not supplied or not expected:
        return False
    # Bytes, because compare_digest refuses non-ASCII str, and a forger picks the input.
    return hmac.compare_digest(expected.encode("utf-8"), supplied.encode("utf-8", "replace"))


def normalized_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lowercase without a default port, or ``None`` if ``value``
    is not an http(s) origin (a path, credentials, ``null``...)."""
    if len(value) > MAX_ORIGIN:
        return None
    scheme, separator, host_and_port = value.strip().lower().partition("://")
    if not separator or scheme not in _DEFAULT_PORTS or not host_and_port:
        return None
    if any(character in _FORBIDDEN_IN_HOST for character in host_and_port):
        return None
    host, port = _host_and_port(host_and_port)
    if not host or host.startswith(":") or port is None:
        return None
    if port and port != _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{int(port)}"
    return f"{scheme}://{host}"


def _host_and_port(host_and_port: str) -> tuple[str, str | None]:
    """``("host", "port")``, ``("host", "")`` without a port, ``port=None`` if it is no number."""
    if host_and_port.endswith("]"):  # an IPv6 literal without a port ends with "]"
        return host_and_port, ""
    head, colon, tail = host_and_port.rpartition(":")
    if not colon:
        return host_and_port, ""
    return head, tail if tail.isdigit() else None


def trusted_origin(value: str) -> str:
    """A ``trusted_origins`` entry, checked and normalized: ``https://app.example`` or, for any
    subdomain, ``https://*.example.com`` (as Django's ``CSRF_TRUSTED_ORIGINS``)."""
    candidate = value.replace("://*.", "://wildcard.", 1) if "://*." in value else value
    normalized = normalized_origin(candidate)
    if normalized is None or "*" in normalized:
        raise InvalidInput(f"a trusted origin is scheme://host[:port] or scheme://*.domain, not {value!r}")
    return normalized.replace("://wildcard.", "://*.", 1) if candidate is not value else normalized


def origin_is_trusted(origin: str, trusted: Collection[str]) -> bool:
    """Whether a normalized ``origin`` is one of the ``trusted`` entries (wildcards included)."""
    if origin in trusted:
        return True
    scheme, _, host_and_port = origin.partition("://")
    for entry in trusted:
        entry_scheme, _, pattern = entry.partition("://")
        if entry_scheme != scheme or not pattern.startswith("*."):
            continue
        suffix = pattern[1:]  # ".example.com" or ".example.com:8443"
        if host_and_port.endswith(suffix) and len(host_and_port) > len(suffix):
            return True
    return False


def own_origin(scheme: str, host: str | None, *, secure: bool) -> str | None:
    """The origin the request was sent to. With ``secure`` the browser only sends the cookie
    over HTTPS, so the scheme is https even if a proxy in front terminated TLS."""
    if not host:
        return None
    return normalized_origin(f"{'https' if secure else scheme}://{host}")


def same_origin_vouched(
    *, sec_fetch_site: str | None, origin: str | None, own: str | None, trusted: Collection[str]
) -> bool:
    """Whether the browser's headers positively say this request comes from this origin (or a
    trusted one): the allowance of anonymous sessions (see the module docstring)."""
    if (sec_fetch_site or "").strip().lower() == "same-origin":
        return True
    normalized = normalized_origin(origin) if origin else None
    if normalized is None:
        return False
    return normalized == own or origin_is_trusted(normalized, trusted)


def cross_origin(
    *, sec_fetch_site: str | None, origin: str | None, own: str | None, trusted: Collection[str]
) -> bool:
    """Whether the browser's headers say this unsafe request comes from another origin."""
    normalized = normalized_origin(origin) if origin else None
    if normalized is not None and origin_is_trusted(normalized, trusted):
        return False
    site = (sec_fetch_site or "").strip().lower()
    if site in ALLOWED_FETCH_SITES:
        return False
    if site in REFUSED_FETCH_SITES:
        return True
    if origin is None or not origin.strip():
        return False  # no browser said anything: the token rule decides
    return normalized is None or normalized != own


@frozen
class OriginHeaders:
    """What one request's browser said about its origin, and the origin it was sent to."""

    sec_fetch_site: str | None
    origin: str | None
    own: str | None
    trusted: tuple[str, ...]

    @classmethod
    def of(
        cls,
        *,
        sec_fetch_site: str | None,
        origin: str | None,
        scheme: str,
        host: str | None,
        secure: bool,
        trusted: tuple[str, ...],
    ) -> OriginHeaders:
        """The request's headers, with its own origin worked out from its scheme and host."""
        return cls(sec_fetch_site, origin, own_origin(scheme, host, secure=secure), trusted)

    def say_cross_origin(self) -> bool:
        """See :func:`cross_origin`."""
        return cross_origin(
            sec_fetch_site=self.sec_fetch_site, origin=self.origin, own=self.own, trusted=self.trusted
        )

    def vouch_same_origin(self) -> bool:
        """See :func:`same_origin_vouched`."""
        return same_origin_vouched(
            sec_fetch_site=self.sec_fetch_site, origin=self.origin, own=self.own, trusted=self.trusted
        )
