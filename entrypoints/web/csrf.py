"""The synchronizer-token check: unsafe requests of a session must echo its CSRF token.

A cross-site page can make the browser send the session cookie (SameSite=Lax still allows
top-level navigations, and older browsers ignore it) but cannot read the token, which the
application renders into its own pages. The token is checked only on requests that carry a
valid session: an anonymous request has no session for a forger to act with (login CSRF is
the origin check's business, ``origins.py``).

Method overrides. An application may let a request say it is another method
(``X-HTTP-Method-Override: DELETE`` on a GET, ``?_method=DELETE``), with a middleware of its
own wrapped inside ours, which would then see a safe GET that the application serves as a
DELETE. So a request is unsafe when its method *or any override it carries* is unsafe: the
check applies to the method the application will act on. A ``_method`` field in a form body
is not looked for: every common override (Rack, Symfony, Laravel, express) reads it only on
POST, which is unsafe already.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from urllib.parse import unquote_plus

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
OVERRIDE_HEADERS = ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override")
_QUERY_OVERRIDE = re.compile(r"(?:^|[&;])_method=([^&;]*)")
# A method name is short; a longer override value is no method and is treated as unsafe.
_MAX_METHOD = 32


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
