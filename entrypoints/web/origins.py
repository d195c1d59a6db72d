"""The origin check of unsafe requests: what the browser says about where a request comes from.

Defence in depth beside the synchronizer token, and the only defence where there is no token
yet (a login form: login CSRF). It follows Go's ``http.CrossOriginProtection`` and the Fetch
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

from collections.abc import Collection

from platform_sessions.domain.errors import InvalidInput

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_FORBIDDEN_IN_HOST = frozenset("/?#@\\ \t\r\n")
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
REFUSED_FETCH_SITES = frozenset({"same-site", "cross-site"})
MAX_ORIGIN = 2048


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
