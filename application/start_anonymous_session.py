"""StartAnonymousSession: a visitor's session, created by the first write of its data."""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen

from platform_sessions.application.results import StartedSession
from platform_sessions.application.session_creation import create_once
from platform_sessions.domain.attributes import JsonValue
from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import InvalidSessionData
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock, UserSessionRepository
from platform_sessions.domain.routing import issue_anonymous_token
from platform_sessions.domain.session import UserSession


@frozen
class StartAnonymousSession:
    """Store a new anonymous session holding ``data`` and issue its token.

    Called for a visitor's first non-empty write, so a visitor who never writes costs no store
    write. The token's routing tag is random (the session belongs to no user); the session
    lives by the policy's anonymous deadlines, counts against no limit and publishes no event
    (events go to a user's channel). Raises :class:`InvalidSessionData` (empty, malformed) or
    :class:`SessionDataTooLarge` before any I/O.
    """

    sessions: UserSessionRepository
    clock: Clock
    policy: SessionPolicy

    def __call__(self, data: Mapping[str, JsonValue], *, client: ClientInfo | None = None) -> StartedSession:
        if not data:
            raise InvalidSessionData("an anonymous session starts with some data (else nothing is stored)")
        token = issue_anonymous_token()
        session = UserSession.start_anonymous(
            token_digest=token.digest, now=self.clock.now(), policy=self.policy, data=data, client=client
        )
        create_once(self.sessions, session, max_sessions=self.policy.max_sessions_per_user)
        return StartedSession(token, SessionContext(session, None))
