"""What a request's cookie and override header amount to: a session (a user's or a visitor's),
none, or a refusal.

Shared by the WSGI and ASGI middlewares so both map the library's errors the same way:

============================================  =====================================
raised by ``PlatformSessions.resolve``        the request
============================================  =====================================
``MalformedToken``, ``SessionNotFound``,      no session, and the bad cookie is cleared
``SessionExpired``
``StoreUnavailable``                          503 with ``Retry-After``; cookie kept
override: ``PlatformNotFound`` or a           404 (another user's platform looks the
malformed id                                  same as none, so ids cannot be probed)
override: ``PlatformInactive``                403
============================================  =====================================
"""

from __future__ import annotations

from attrs import frozen

from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import (
    InvalidInput,
    MalformedToken,
    PlatformInactive,
    PlatformNotFound,
    SessionNotFound,
    StoreUnavailable,
)
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.refusals import (
    Refusal,
    platform_inactive,
    platform_not_found,
    store_unavailable,
)


@frozen
class RequestSession:
    """The outcome of resolving one request's session."""

    context: SessionContext | None
    clear_cookie: bool = False
    refusal: Refusal | None = None


NO_SESSION = RequestSession(context=None)


def resolve_request(
    sessions: PlatformSessions, token: str | None, platform_override: str | None
) -> RequestSession:
    """Resolve the cookie's token, with the override header's platform if one was sent."""
    if not token:
        # No session, so nothing to override either: the header is ignored.
        return NO_SESSION
    try:
        context = sessions.resolve(token, platform_override=platform_override or None)
    except (MalformedToken, SessionNotFound):
        return RequestSession(context=None, clear_cookie=True)
    except StoreUnavailable:
        return RequestSession(context=None, refusal=store_unavailable())
    except (PlatformNotFound, InvalidInput):
        # MalformedToken is an InvalidInput too, and was handled above; what is left is the
        # override id failing validation, which reads as "no such platform".
        return RequestSession(context=None, refusal=platform_not_found())
    except PlatformInactive:
        return RequestSession(context=None, refusal=platform_inactive())
    return RequestSession(context=context)
