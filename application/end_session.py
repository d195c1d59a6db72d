"""EndSession and RevokeSession: log out this device, or another one of the same user."""

from __future__ import annotations

from attrs import frozen

from platform_sessions.application.outcome_unknown import resolve_unknown_commit
from platform_sessions.domain.errors import CommitOutcomeUnknown, SessionNotFound
from platform_sessions.domain.events import EndReason, SessionEnded
from platform_sessions.domain.ids import UserId, checked_id
from platform_sessions.domain.ports import Clock, EventPublisher, UserSessionRepository
from platform_sessions.domain.session import UserSession


@frozen
class EndSession:
    """Log out: end the session by its stable id; its token stops resolving at once, everywhere.

    ``session`` is the session as this request resolved it (or a sessions page listed it): a
    concurrent request that rotated its token since does not save it, and the rotated token
    stops resolving too (see :meth:`UserSessionRepository.delete`).

    If the store lost the commit's acknowledgement (:class:`CommitOutcomeUnknown`), the session
    is looked up: gone, this end removed it; still there, it is deleted again. Either way the
    session ended here, and the call says so (``True``).
    """

    sessions: UserSessionRepository
    publisher: EventPublisher
    clock: Clock

    def __call__(self, session: UserSession, *, reason: EndReason = EndReason.LOGOUT) -> bool:
        """Returns ``False`` if the session had already ended (logging out twice is harmless)."""
        try:
            deleted = self.sessions.delete(session)
        except CommitOutcomeUnknown as unknown:
            deleted = resolve_unknown_commit(unknown, lambda: self._ended(session))
        if deleted and session.user_id is not None:  # a visitor has no event channel
            self.publisher.publish(
                SessionEnded(
                    user_id=session.user_id,
                    occurred_at=self.clock.now(),
                    session_handle=session.handle,
                    reason=reason,
                )
            )
        return deleted

    def _ended(self, session: UserSession) -> bool:
        # Deleting by id again ends it if the lost commit did not; if it did, this deletes
        # nothing (and says so), which is no error: either way the session has ended here.
        self.sessions.delete(session)
        return True


@frozen
class RevokeSession:
    """End one of a user's sessions by its public handle ("end this session" on a sessions page).

    Raises :class:`SessionNotFound` if the user has no live session with that handle, which
    includes handles of other users' sessions.
    """

    sessions: UserSessionRepository
    end_session: EndSession
    clock: Clock

    def __call__(self, user_id: UserId, handle: str) -> None:
        checked_id(user_id, "user_id")
        checked_id(handle, "handle")
        for session in self.sessions.list_for_user(user_id, self.clock.now()):
            if session.handle == handle:
                self.end_session(session, reason=EndReason.REVOKED)
                return
        raise SessionNotFound("the user has no live session with this handle")
