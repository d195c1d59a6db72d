"""StartSession: log a user in, after the application has authenticated them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from attrs import frozen

from platform_sessions.application.outcome_unknown import resolve_unknown_commit
from platform_sessions.application.platform_choice import require_usable, usable_or_none
from platform_sessions.application.results import StartedSession
from platform_sessions.domain.attributes import JsonValue, checked_attributes
from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import CommitOutcomeUnknown, ConcurrentUpdate
from platform_sessions.domain.events import EndReason, SessionEnded, SessionStarted
from platform_sessions.domain.ids import PlatformId, UserId, checked_id
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock, EventPublisher, PlatformDirectory, UserSessionRepository
from platform_sessions.domain.routing import RoutingKey, issue_token
from platform_sessions.domain.session import UserSession


@frozen
class StartSession:
    """Issue a token and store a new session for an authenticated user.

    The session starts on the given platform (validated), else on the user's default if it is
    active, else on none. If the user then has more sessions than the policy allows, the least
    recently seen others end, in the same atomic step as the creation.

    If the store lost the commit's acknowledgement (:class:`CommitOutcomeUnknown`), the session
    is looked up by its digest: found, it was stored (which sessions it evicted is then not
    known: they did end, but their :class:`SessionEnded` events are not published, and
    ``evicted_count`` is 0); not found, it is stored again (same id and digest, so at most once).
    """

    sessions: UserSessionRepository
    directory: PlatformDirectory
    publisher: EventPublisher
    clock: Clock
    policy: SessionPolicy
    routing_key: RoutingKey

    def __call__(
        self,
        user_id: UserId,
        *,
        platform_id: PlatformId | None = None,
        client: ClientInfo | None = None,
        attributes: Mapping[str, JsonValue] | None = None,
    ) -> StartedSession:
        user_id = checked_id(user_id, "user_id")
        # Validate everything the caller gave before any I/O.
        clean_attributes = checked_attributes(attributes)
        if platform_id is not None:
            checked_id(platform_id, "platform_id")
        platform = self._starting_platform(user_id, platform_id)
        token = issue_token(self.routing_key, user_id)
        now = self.clock.now()
        session = UserSession.start(
            user_id=user_id,
            token_digest=token.digest,
            now=now,
            policy=self.policy,
            active_platform_id=platform.id if platform else None,
            client=client,
            attributes=clean_attributes,
        )
        try:
            evicted = self.sessions.create(session, max_sessions=self.policy.max_sessions_per_user)
        except CommitOutcomeUnknown as unknown:
            evicted = resolve_unknown_commit(unknown, lambda: self._stored_or_again(session))
        for old in evicted:
            self.publisher.publish(
                SessionEnded(
                    user_id=user_id, occurred_at=now, session_handle=old.handle, reason=EndReason.EVICTED
                )
            )
        self.publisher.publish(
            SessionStarted(
                user_id=user_id,
                occurred_at=now,
                session_handle=session.handle,
                platform_id=session.active_platform_id,
            )
        )
        return StartedSession(token, SessionContext(session, platform), evicted_count=len(evicted))

    def _starting_platform(
        self, user_id: UserId, platform_id: PlatformId | None
    ) -> PlatformConnection | None:
        if platform_id is not None:
            return require_usable(self.directory.get(user_id, platform_id), user_id, platform_id)
        return usable_or_none(self.directory.default_for(user_id), user_id)

    def _stored_or_again(self, session: UserSession) -> Sequence[UserSession]:
        if self._stored(session):
            return ()
        try:
            return self.sessions.create(session, max_sessions=self.policy.max_sessions_per_user)
        except ConcurrentUpdate:
            # Its id or digest exists now: the lost commit landed after the look-up.
            if self._stored(session):
                return ()
            raise

    def _stored(self, session: UserSession) -> bool:
        found = self.sessions.get(session.token_digest)
        return found is not None and found.session_id == session.session_id
