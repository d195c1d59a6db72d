"""EndAllSessions: "log out everywhere", optionally keeping the current device."""

from __future__ import annotations

from attrs import frozen

from platform_sessions.domain.events import UserSessionsEnded
from platform_sessions.domain.ids import UserId, checked_id
from platform_sessions.domain.ports import Clock, EventPublisher, UserSessionRepository
from platform_sessions.domain.session import UserSession


@frozen
class EndAllSessions:
    """Delete all of a user's sessions in one atomic step, except ``keep`` if given."""

    sessions: UserSessionRepository
    publisher: EventPublisher
    clock: Clock

    def __call__(self, user_id: UserId, *, keep: UserSession | None = None) -> int:
        """Returns how many sessions ended."""
        checked_id(user_id, "user_id")
        kept_id = keep.session_id if keep is not None and keep.user_id == user_id else None
        ended = self.sessions.delete_all_for_user(user_id, keep=kept_id)
        self.publisher.publish(
            UserSessionsEnded(
                user_id=user_id,
                occurred_at=self.clock.now(),
                ended_count=len(ended),
                kept_session_handle=keep.handle if kept_id is not None and keep is not None else None,
            )
        )
        return len(ended)
