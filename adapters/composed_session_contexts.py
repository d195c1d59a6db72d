"""A SessionContextQuery built from the repository and directory ports.

For stores that cannot fuse the reads into one round trip (the in-memory fakes); the Redis
adapter has its own single-script implementation of the same port, the SQL adapter its own
single-transaction one.
"""

from __future__ import annotations

from datetime import datetime

from platform_sessions.domain.context import SessionSnapshot
from platform_sessions.domain.ids import PlatformId
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import PlatformDirectory, SessionContextQuery, UserSessionRepository
from platform_sessions.domain.token import TokenDigest


class ComposedSessionContextQuery(SessionContextQuery):
    """Reads the session, touches it when due, then asks the directory for its platforms."""

    def __init__(
        self, sessions: UserSessionRepository, directory: PlatformDirectory, policy: SessionPolicy
    ) -> None:
        self._sessions = sessions
        self._directory = directory
        self._policy = policy

    def load(
        self,
        digest: TokenDigest,
        *,
        now: datetime,
        requested_platform_id: PlatformId | None = None,
    ) -> SessionSnapshot | None:
        session = self._sessions.get(digest)
        if session is None:
            return None
        if session.expiry_reason(now, self._policy) is None and session.is_touch_due(now, self._policy):
            touched = self._sessions.touch(session, now)
            if touched is None:
                return None
            session = touched
        user_id = session.user_id
        if user_id is None:
            return SessionSnapshot(session=session)  # a visitor's session has no platforms
        active = (
            self._directory.get(user_id, session.active_platform_id) if session.active_platform_id else None
        )
        requested = self._directory.get(user_id, requested_platform_id) if requested_platform_id else None
        return SessionSnapshot(
            session=session,
            active_platform=active,
            default_platform=self._directory.default_for(user_id),
            requested_platform=requested,
        )
