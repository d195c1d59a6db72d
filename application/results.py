"""What use cases hand back besides the domain's own read models."""

from __future__ import annotations

from attrs import frozen

from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.session import UserSession
from platform_sessions.domain.token import SessionToken


@frozen
class StartedSession:
    """A new session and the token to give the browser (the only time it is known)."""

    token: SessionToken
    context: SessionContext
    evicted_count: int = 0


@frozen
class SwitchOutcome:
    """The result of a platform switch.

    ``context`` is the session as stored once the switch was decided, on the target platform
    (as the switch read and stamped it): the session written, or, when ``changed`` is false
    (the platform was already active: a double click, or another request switched first), the
    stored session that decision was made on, never an older copy. It is what the request
    works in from now on; nothing needs to be read again. ``new_token`` is set when the policy
    rotates the token on switch.
    """

    context: SessionContext
    changed: bool
    new_token: SessionToken | None = None

    @property
    def session(self) -> UserSession:
        """The session as stored (``context.session``)."""
        return self.context.session


@frozen
class RotatedSession:
    """The same session under a new token; the old token no longer resolves.

    ``context`` is the caller's context moved to the rotated session (same platform, same
    override), when the caller handed in a context (the web handle does); ``None`` when it
    handed in a bare session, whose platform the rotation never reads.
    """

    token: SessionToken
    session: UserSession
    context: SessionContext | None = None
