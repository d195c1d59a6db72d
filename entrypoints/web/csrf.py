"""The synchronizer-token check: unsafe requests of a session must echo its CSRF token.

A cross-site page can make the browser send the session cookie (SameSite=Lax still allows
top-level navigations, and older browsers ignore it) but cannot read the token, which the
application renders into its own pages. Only requests that carry a valid session are checked:
an anonymous request has no session for a forger to act with.
"""

from __future__ import annotations

import hmac

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def is_unsafe_method(method: str) -> bool:
    """Whether a request with this method may change state (and so must prove its origin)."""
    return method.upper() not in SAFE_METHODS


def csrf_token_matches(expected: str, supplied: str | None) -> bool:
    """Compare in constant time, so the response time leaks nothing of the expected token."""
    if not supplied or not expected:
        return False
    # Bytes, because compare_digest refuses non-ASCII str, and a forger picks the input.
    return hmac.compare_digest(expected.encode("utf-8"), supplied.encode("utf-8", "replace"))
