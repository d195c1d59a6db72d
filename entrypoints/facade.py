"""The facade applications call: one method per use case, plain arguments in, read models out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TypeVar

from platform_sessions.application.connect_platform import ConnectPlatform
from platform_sessions.application.end_all_sessions import EndAllSessions
from platform_sessions.application.end_session import EndSession, RevokeSession
from platform_sessions.application.list_sessions import ListSessions
from platform_sessions.application.platform_activation import ActivatePlatform, DeactivatePlatform
from platform_sessions.application.platform_use_case import PlatformUseCase
from platform_sessions.application.purge_expired_sessions import PurgeExpiredSessions
from platform_sessions.application.remove_platform import RemovePlatform
from platform_sessions.application.resolve_session import ResolveSession
from platform_sessions.application.results import RotatedSession, StartedSession, SwitchOutcome
from platform_sessions.application.rotate_session import RotateSession
from platform_sessions.application.set_default_platform import SetDefaultPlatform
from platform_sessions.application.start_anonymous_session import StartAnonymousSession
from platform_sessions.application.start_session import StartSession
from platform_sessions.application.storage_operations import RewarmProgress, StorageHealth
from platform_sessions.application.switch_platform import SwitchPlatform
from platform_sessions.application.update_platform import UpdatePlatform
from platform_sessions.application.write_session_data import WriteSessionData
from platform_sessions.domain.attributes import JsonValue
from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.context import SessionContext, SessionSummary
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.domain.session import UserSession
from platform_sessions.domain.session_data import SessionDataChanges
from platform_sessions.entrypoints.container import OpenStorage, once

P = TypeVar("P", bound=PlatformUseCase)

SessionRef = str | SessionContext | UserSession
"""A session as a caller knows it: the raw token, or what resolving it gave this request.

Passing the context a request already resolved saves a store read."""


class PlatformSessions:
    """User sessions and platform connections, whatever the storage behind them.

    Build it with :func:`platform_sessions.entrypoints.bootstrap`.
    """

    def __init__(self, storage: OpenStorage, *, policy: SessionPolicy, routing_key: RoutingKey) -> None:
        """Every use case, built on ``storage``'s ports: a use case is one line here and its
        method below (keywords throughout, so that mypy checks every one of them)."""
        sessions, directory, clock = storage.user_sessions, storage.platform_directory, storage.clock
        publisher = storage.event_publisher

        def platform_use_case(kind: type[P]) -> P:
            return kind(
                uow_factory=storage.uow_factory,
                directory=directory,
                sessions=sessions,
                publisher=publisher,
                clock=clock,
            )

        self._rotate = RotateSession(
            sessions=sessions, publisher=publisher, clock=clock, routing_key=routing_key
        )
        self._end = EndSession(sessions=sessions, publisher=publisher, clock=clock)
        self._start = StartSession(
            sessions=sessions,
            directory=directory,
            publisher=publisher,
            clock=clock,
            policy=policy,
            routing_key=routing_key,
        )
        self._resolve = ResolveSession(contexts=storage.session_contexts, clock=clock, policy=policy)
        self._switch = SwitchPlatform(
            sessions=sessions,
            uow_factory=storage.uow_factory,
            publisher=publisher,
            clock=clock,
            policy=policy,
            rotate=self._rotate,
        )
        self._revoke = RevokeSession(sessions=sessions, end_session=self._end, clock=clock)
        self._end_all = EndAllSessions(sessions=sessions, publisher=publisher, clock=clock)
        self._list_sessions = ListSessions(sessions=sessions, clock=clock, policy=policy)
        self._purge = PurgeExpiredSessions(sessions=sessions, clock=clock)
        self._start_anonymous = StartAnonymousSession(sessions=sessions, clock=clock, policy=policy)
        self._write_data = WriteSessionData(sessions=sessions, policy=policy)
        self._connect_platform = platform_use_case(ConnectPlatform)
        self._update_platform = platform_use_case(UpdatePlatform)
        self._set_default_platform = platform_use_case(SetDefaultPlatform)
        self._deactivate_platform = platform_use_case(DeactivatePlatform)
        self._activate_platform = platform_use_case(ActivatePlatform)
        self._remove_platform = platform_use_case(RemovePlatform)
        self._directory = directory
        self._operations = storage.operations
        self._close = once(storage.close)  # close() twice releases once
        self.events = publisher
        self.clock = clock
        self.policy = policy

    def health(self) -> StorageHealth:
        """The storage's state: stores reachable, breaker, outbox, live sessions, counters."""
        return self._operations.health()

    def rewarm(self, progress: RewarmProgress | None = None) -> int:
        """Load every live session from the database into Redis (two-tier storage only);
        returns how many. ``progress(done, total)`` is called as pages load."""
        return self._operations.rewarm(progress)

    def close(self) -> None:
        """Release connections and pools; the facade is unusable afterwards."""
        self._close()

    def __enter__(self) -> PlatformSessions:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # User sessions

    def start_session(
        self,
        user_id: UserId,
        *,
        platform_id: PlatformId | None = None,
        user_agent: str = "",
        ip_address: str = "",
        attributes: Mapping[str, JsonValue] | None = None,
        lifetime: timedelta | None = None,
        persistent_cookie: bool = True,
        carry_from: SessionRef | None = None,
    ) -> StartedSession:
        """Log in an authenticated user; the returned token goes into the cookie.

        ``lifetime``: this login's absolute lifetime ("remember me", at most the policy's).
        ``persistent_cookie=False``: a browser-session cookie. ``carry_from``: the visitor's
        anonymous session, whose data the login keeps under the new token (the old one dies).
        """
        return self._start(
            user_id,
            platform_id=platform_id,
            client=ClientInfo(user_agent=user_agent, ip_address=ip_address),
            attributes=attributes,
            lifetime=lifetime,
            persistent_cookie=persistent_cookie,
            carry_from=self._session(carry_from) if carry_from is not None else None,
        )

    def start_anonymous_session(
        self, data: Mapping[str, JsonValue], *, user_agent: str = "", ip_address: str = ""
    ) -> StartedSession:
        """A visitor's session holding ``data`` (its first write); the token goes into the cookie."""
        return self._start_anonymous(data, client=ClientInfo(user_agent=user_agent, ip_address=ip_address))

    def write_session_data(
        self,
        current: SessionRef,
        *,
        set: Mapping[str, JsonValue] | None = None,
        delete: Iterable[str] = (),
        expected_version: int | None = None,
    ) -> UserSession:
        """Set and delete keys of the session's data; other keys stay as stored (see
        :class:`WriteSessionData`: last write wins per key, or a compare-and-set with
        ``expected_version``). Returns the session as stored; nothing to change writes nothing."""
        changes = SessionDataChanges.for_policy(self.policy.max_data_value_bytes, set=set, delete=delete)
        return self._write_data(self._session(current), changes, expected_version=expected_version)

    def resolve(self, token: object, *, platform_override: PlatformId | None = None) -> SessionContext:
        """The session context of a request's token (see :class:`ResolveSession`)."""
        return self._resolve(token, platform_override=platform_override)

    def switch_platform(self, current: SessionRef, platform_id: PlatformId) -> SwitchOutcome:
        """Make ``platform_id`` the session's active platform (see :class:`SwitchPlatform`)."""
        return self._switch(self._session(current), platform_id)

    def rotate(self, current: SessionRef) -> RotatedSession:
        """Give the session a new token; the old one stops working.

        Given a context (or a token, which is resolved), the result carries it moved to the
        rotated session; given a bare session, ``context`` is ``None``.
        """
        context = current if isinstance(current, SessionContext) else None
        if isinstance(current, str):
            context = self._resolve(current)
        session = context.session if context is not None else self._session(current)
        return self._rotate(session, context=context)

    def end_session(self, current: SessionRef) -> bool:
        """Log out; ``False`` if there was no live session to end."""
        try:
            session = self._session(current)
        except SessionNotFound:
            return False
        return self._end(session)

    def revoke_session(self, user_id: UserId, handle: str) -> None:
        """End one of the user's sessions by the handle a sessions page showed."""
        self._revoke(user_id, handle)

    def end_all_sessions(self, user_id: UserId, *, keep: SessionRef | None = None) -> int:
        """End every session of the user, except ``keep`` if given; returns how many ended."""
        kept = self._session(keep) if keep is not None else None
        return self._end_all(user_id, keep=kept)

    def list_sessions(self, user_id: UserId, *, current: SessionRef | None = None) -> list[SessionSummary]:
        """The user's live sessions, most recently seen first; ``current`` is marked."""
        current_id = self._session(current).session_id if current is not None else None
        return self._list_sessions(user_id, current=current_id)

    def purge_expired(self, *, batch_size: int = 1000) -> int:
        """Delete expired sessions in batches; returns how many."""
        return self._purge(batch_size=batch_size)

    # Platform connections

    def list_platforms(self, user_id: UserId) -> Sequence[PlatformConnection]:
        """The user's platform connections, active or not."""
        return self._directory.list_for_user(user_id)

    def connect_platform(
        self,
        user_id: UserId,
        *,
        name: str,
        platform_type: str,
        instance_url: str,
        username: str,
        make_default: bool = False,
    ) -> PlatformConnection:
        """Connect an account; a user's first platform becomes their default."""
        return self._connect_platform(
            user_id,
            name=name,
            platform_type=platform_type,
            instance_url=instance_url,
            username=username,
            make_default=make_default,
        )

    def update_platform(
        self,
        user_id: UserId,
        platform_id: PlatformId,
        *,
        name: str | None = None,
        instance_url: str | None = None,
        username: str | None = None,
    ) -> PlatformConnection:
        """Rename a connection or correct its instance URL or username."""
        return self._update_platform(
            user_id, platform_id, name=name, instance_url=instance_url, username=username
        )

    def set_default_platform(self, user_id: UserId, platform_id: PlatformId) -> PlatformConnection:
        """Make an active platform the user's default."""
        return self._set_default_platform(user_id, platform_id)

    def deactivate_platform(self, user_id: UserId, platform_id: PlatformId) -> PlatformConnection:
        """Take a platform out of use; sessions on it move to the default."""
        return self._deactivate_platform(user_id, platform_id)

    def activate_platform(self, user_id: UserId, platform_id: PlatformId) -> PlatformConnection:
        """Put a deactivated platform back into use."""
        return self._activate_platform(user_id, platform_id)

    def remove_platform(self, user_id: UserId, platform_id: PlatformId) -> None:
        """Disconnect an account for good."""
        self._remove_platform(user_id, platform_id)

    def _session(self, ref: SessionRef) -> UserSession:
        if isinstance(ref, UserSession):
            return ref
        if isinstance(ref, SessionContext):
            return ref.session
        return self._resolve(ref).session
