"""RotateSession: a new token for the same session (after login, privilege change, on demand)."""

from __future__ import annotations

import attrs
from attrs import frozen

from platform_sessions.application.outcome_unknown import resolve_unknown_commit
from platform_sessions.application.results import RotatedSession
from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import CommitOutcomeUnknown, ConcurrentUpdate, SessionNotFound
from platform_sessions.domain.events import SessionRotated
from platform_sessions.domain.ports import Clock, EventPublisher, UserSessionRepository
from platform_sessions.domain.routing import RoutingKey, issue_token
from platform_sessions.domain.session import UserSession, new_csrf_token
from platform_sessions.domain.token import SessionToken

ATTEMPTS = 3


@frozen
class RotateSession:
    """Move a session to a fresh token, keeping its id, data and handle (defeats fixation).

    The CSRF token is renewed with it: whatever leaked with the old cookie (a page cached
    before a login, a token logged with it) is worth nothing after the rotation.

    Versioned like any update; on a conflict the session is re-read and the rotation retried.
    If the store lost the commit's acknowledgement (:class:`CommitOutcomeUnknown`), the new
    digest is looked up: only this rotation can have stored it, so finding it means the commit
    landed and the new token is returned (the old one is dead: returning it would log the user
    out); not finding it, the same rotation is made again.
    """

    sessions: UserSessionRepository
    publisher: EventPublisher
    clock: Clock
    routing_key: RoutingKey

    def __call__(self, session: UserSession, *, context: SessionContext | None = None) -> RotatedSession:
        """Rotate ``session``; with the request's ``context`` (of that session) the result carries
        it moved to the rotated session."""
        current = session
        for _ in range(ATTEMPTS):
            # A visitor's new token keeps its (random) routing tag, as a user's keeps theirs:
            # the new key shares the old one's slot, so one atomic step moves the session.
            token = (
                SessionToken.issue(current.token_digest.routing_tag)
                if current.user_id is None
                else issue_token(self.routing_key, current.user_id)
            )
            try:
                rotated = self._rotate(current, token, new_csrf_token())
            except ConcurrentUpdate:
                fresh = self.sessions.get(current.token_digest)
                if fresh is None:
                    raise SessionNotFound("the session ended during the rotation") from None
                current = fresh
                continue
            if rotated.user_id is not None:  # events go to a user's channel: a visitor has none
                self.publisher.publish(
                    SessionRotated(
                        user_id=rotated.user_id, occurred_at=self.clock.now(), session_handle=rotated.handle
                    )
                )
            moved = attrs.evolve(context, session=rotated) if context is not None else None
            return RotatedSession(token, rotated, moved)
        raise ConcurrentUpdate(f"the session kept changing under {ATTEMPTS} attempts to rotate it")

    def _rotate(self, current: UserSession, token: SessionToken, csrf_token: str) -> UserSession:
        try:
            return self.sessions.rotate(current, token.digest, csrf_token)
        except CommitOutcomeUnknown as unknown:
            return resolve_unknown_commit(unknown, lambda: self._landed_or_again(current, token, csrf_token))

    def _landed_or_again(self, current: UserSession, token: SessionToken, csrf_token: str) -> UserSession:
        landed = self._landed(current, token)
        if landed is not None:
            return landed
        try:
            return self.sessions.rotate(current, token.digest, csrf_token)  # versioned: at most once
        except ConcurrentUpdate:
            # The lost commit may have landed after the look-up (it was still on its way).
            landed = self._landed(current, token)
            if landed is None:
                raise
            return landed

    def _landed(self, current: UserSession, token: SessionToken) -> UserSession | None:
        found = self.sessions.get(token.digest)
        return found if found is not None and found.session_id == current.session_id else None
