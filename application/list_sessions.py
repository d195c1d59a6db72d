"""ListSessions: a user's live sessions for a "your sessions" page."""

from __future__ import annotations

from attrs import frozen

from platform_sessions.domain.context import SessionSummary
from platform_sessions.domain.ids import SessionId, UserId, checked_id
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock, UserSessionRepository


@frozen
class ListSessions:
    """The user's live sessions, most recently seen first, with client metadata.

    ``current`` marks the requesting session. No token or internal id is in the result.
    """

    sessions: UserSessionRepository
    clock: Clock
    policy: SessionPolicy

    def __call__(self, user_id: UserId, *, current: SessionId | None = None) -> list[SessionSummary]:
        checked_id(user_id, "user_id")
        return [
            SessionSummary(
                handle=session.handle,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                expires_at=session.expires_at(self.policy),
                client=session.client,
                active_platform_id=session.active_platform_id,
                is_current=session.session_id == current,
            )
            for session in self.sessions.list_for_user(user_id, self.clock.now())
        ]
