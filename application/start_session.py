"""StartSession: log a user in, after the application has authenticated them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from attrs import frozen

from platform_sessions.application.outcome_unknown import resolve_unknown_commit
from platform_sessions.application.platform_choice import require_usable, usable_or_none
from platform_sessions.application.results import StartedSession
from platform_sessions.application.session_creation import create_once
from platform_sessions.domain.attributes import JsonValue, checked_attributes
from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import CommitOutcomeUnknown, InvalidInput, StoreUnavailable
from platform_sessions.domain.events import EndReason, SessionEnded, SessionStarted
from platform_sessions.domain.ids import PlatformId, UserId, checked_id
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock, EventPublisher, PlatformDirectory, UserSessionRepository
from platform_sessions.domain.routing import RoutingKey, issue_token
from platform_sessions.domain.session import UserSession, checked_lifetime

logger = logging.getLogger(__name__)


@frozen
class StartSession:
    """Issue a token and store a new session for an authenticated user.

    The session starts on the given platform (validated), else on the user's default if it is
    active, else on none. If the user then has more sessions than the policy allows, the least
    recently seen others end, in the same atomic step as the creation.

    ``lifetime`` is this login's absolute lifetime ("remember me"; at most the policy's, its
    default) and ``persistent_cookie=False`` asks for a browser-session cookie; both are stored
    with the session. With an anonymous ``carry_from`` (the visitor's session this request
    resolved), the new session starts with that session's data as stored now, and then
    ``carry_from`` is deleted, so its token is dead (a new token for the login, as Django's
    ``cycle_key``: fixation-safe). Create first, delete second: the two may live in different
    places (cluster nodes), and a failure between them loses no data. If that delete cannot
    reach the store, the login still stands (logged): the visitor's session then lingers until
    its short anonymous deadline, holding nothing of the user.

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
        lifetime: timedelta | None = None,
        persistent_cookie: bool = True,
        carry_from: UserSession | None = None,
    ) -> StartedSession:
        user_id = checked_id(user_id, "user_id")
        # Validate everything the caller gave before any I/O.
        clean_attributes = checked_attributes(attributes)
        if platform_id is not None:
            checked_id(platform_id, "platform_id")
        if carry_from is not None and not carry_from.is_anonymous:
            raise InvalidInput("only an anonymous session's data is carried into a login")
        lifetime = checked_lifetime(lifetime, self.policy)
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
            lifetime=lifetime,
            persistent_cookie=persistent_cookie,
            data=self._carried_data(carry_from),
        )
        evicted = create_once(self.sessions, session, max_sessions=self.policy.max_sessions_per_user)
        if carry_from is not None:
            self._end_carried(carry_from)
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

    def _carried_data(self, carry_from: UserSession | None) -> Mapping[str, JsonValue]:
        if carry_from is None:
            return {}
        # As stored now: a key written by another request since this one resolved is kept.
        stored = self.sessions.get(carry_from.token_digest)
        if stored is not None and stored.session_id == carry_from.session_id:
            return stored.data
        return carry_from.data

    def _end_carried(self, carry_from: UserSession) -> None:
        try:
            try:
                self.sessions.delete(carry_from)
            except CommitOutcomeUnknown as unknown:
                resolve_unknown_commit(unknown, lambda: self.sessions.delete(carry_from))
        except StoreUnavailable:
            logger.warning("the visitor's session carried into a login could not be ended; it expires")
