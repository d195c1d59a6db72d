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

    ``session`` is the session as stored once the switch was decided: the one written, or,
    when ``changed`` is false (the platform was already active: a double click, or another
    request switched first), the stored session that decision was made on, never an older copy.
    ``new_token`` is set when the policy rotates the token on switch.
    """

    session: UserSession
    changed: bool
    new_token: SessionToken | None = None


@frozen
class RotatedSession:
    """The same session under a new token; the old token no longer resolves."""

    token: SessionToken
    session: UserSession
