"""RotateSession: a new token for the same session (after login, privilege change, on demand)."""

from __future__ import annotations

from attrs import frozen

from platform_sessions.application.results import RotatedSession
from platform_sessions.domain.errors import ConcurrentUpdate, SessionNotFound
from platform_sessions.domain.events import SessionRotated
from platform_sessions.domain.ports import Clock, EventPublisher, UserSessionRepository
from platform_sessions.domain.routing import RoutingKey, issue_token
from platform_sessions.domain.session import UserSession, new_csrf_token

ATTEMPTS = 3


@frozen
class RotateSession:
    """Move a session to a fresh token, keeping its id, data and handle (defeats fixation).

    The CSRF token is renewed with it: whatever leaked with the old cookie (a page cached
    before a login, a token logged with it) is worth nothing after the rotation.

    Versioned like any update; on a conflict the session is re-read and the rotation retried.
    """

    sessions: UserSessionRepository
    publisher: EventPublisher
    clock: Clock
    routing_key: RoutingKey

    def __call__(self, session: UserSession) -> RotatedSession:
        current = session
        for _ in range(ATTEMPTS):
            token = issue_token(self.routing_key, current.user_id)
            try:
                rotated = self.sessions.rotate(current, token.digest, new_csrf_token())
            except ConcurrentUpdate:
                fresh = self.sessions.get(current.token_digest)
                if fresh is None:
                    raise SessionNotFound("the session ended during the rotation") from None
                current = fresh
                continue
            self.publisher.publish(
                SessionRotated(
                    user_id=rotated.user_id, occurred_at=self.clock.now(), session_handle=rotated.handle
                )
            )
            return RotatedSession(token, rotated)
        raise ConcurrentUpdate(f"the session kept changing under {ATTEMPTS} attempts to rotate it")
