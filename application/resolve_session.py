"""ResolveSession: turn a request's token into its session context, or refuse it."""

from __future__ import annotations

from attrs import frozen

from platform_sessions.application.platform_choice import require_usable, usable_or_none
from platform_sessions.domain.context import SessionContext, SessionSnapshot
from platform_sessions.domain.errors import PlatformNotFound, SessionExpired, SessionNotFound
from platform_sessions.domain.ids import PlatformId, UserId, checked_id
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock, SessionContextQuery
from platform_sessions.domain.token import SessionToken


@frozen
class ResolveSession:
    """Validate a token and return the context the request works in.

    One query loads the session (touching it if the touch interval passed) and the platform
    records; then the rules: idle and absolute expiry, and the active platform re-validated,
    because it may have been deactivated or removed since the session chose it (the context
    then falls back to the user's active default, or to none). A per-request override
    (``platform_override``) is validated the same way and never stored.

    An anonymous (visitor's) token resolves too: its context has ``user_id is None`` and no
    platform, and it expires by the policy's anonymous deadlines.

    Raises :class:`MalformedToken` (before any I/O), :class:`SessionNotFound`,
    :class:`SessionExpired`, and for an override :class:`PlatformNotFound` or
    :class:`PlatformInactive`.
    """

    contexts: SessionContextQuery
    clock: Clock
    policy: SessionPolicy

    def __call__(self, raw_token: object, *, platform_override: PlatformId | None = None) -> SessionContext:
        token = SessionToken.parse(raw_token)
        if platform_override is not None:
            checked_id(platform_override, "platform_override")
        now = self.clock.now()
        snapshot = self.contexts.load(token.digest, now=now, requested_platform_id=platform_override)
        if snapshot is None:
            raise SessionNotFound("no session for this token")
        session = snapshot.session
        reason = session.expiry_reason(now, self.policy)
        if reason is not None:
            raise SessionExpired(reason)
        user_id = session.user_id
        if user_id is None:
            # A visitor's session: no platform, and no override can name one of theirs.
            if platform_override is not None:
                raise PlatformNotFound(f"no platform {platform_override!r} for this session")
            return SessionContext(session, None)
        if platform_override is not None:
            override = require_usable(snapshot.requested_platform, user_id, platform_override)
            return SessionContext(session, override, is_override=True)
        platform, fell_back = _effective_platform(snapshot, user_id)
        return SessionContext(session, platform, platform_fell_back=fell_back)


def _effective_platform(snapshot: SessionSnapshot, user_id: UserId) -> tuple[PlatformConnection | None, bool]:
    session = snapshot.session
    if session.active_platform_id is None:
        return None, False
    active = usable_or_none(snapshot.active_platform, user_id)
    if active is not None and active.id == session.active_platform_id:
        return active, False
    return usable_or_none(snapshot.default_platform, user_id), True
