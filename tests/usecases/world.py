"""A whole application on the in-memory fakes, with the use cases wired by hand.

Tests reach every fake directly (to seed, to inspect, to inject a concurrent writer), which
the facade deliberately hides.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from platform_sessions.adapters.composed_session_contexts import ComposedSessionContextQuery
from platform_sessions.adapters.memory import (
    InMemoryEventPublisher,
    InMemoryPlatformDirectory,
    InMemoryPlatformStore,
    InMemoryUnitOfWork,
    InMemoryUserSessionRepository,
    ManualClock,
)
from platform_sessions.application.connect_platform import ConnectPlatform
from platform_sessions.application.end_all_sessions import EndAllSessions
from platform_sessions.application.end_session import EndSession, RevokeSession
from platform_sessions.application.list_sessions import ListSessions
from platform_sessions.application.platform_activation import ActivatePlatform, DeactivatePlatform
from platform_sessions.application.purge_expired_sessions import PurgeExpiredSessions
from platform_sessions.application.remove_platform import RemovePlatform
from platform_sessions.application.resolve_session import ResolveSession
from platform_sessions.application.rotate_session import RotateSession
from platform_sessions.application.set_default_platform import SetDefaultPlatform
from platform_sessions.application.start_anonymous_session import StartAnonymousSession
from platform_sessions.application.start_session import StartSession
from platform_sessions.application.switch_platform import SwitchPlatform
from platform_sessions.application.update_platform import UpdatePlatform
from platform_sessions.application.write_session_data import WriteSessionData
from platform_sessions.domain.events import DomainEvent
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import UnitOfWork
from platform_sessions.domain.session import SessionChanges, UserSession
from platform_sessions.domain.token import TokenDigest
from tests.builders import ROUTING_KEY


class RecordingSessions(InMemoryUserSessionRepository):
    """The fake session store, counting calls, with a hook to run a "concurrent" writer."""

    def __init__(self, policy: SessionPolicy) -> None:
        super().__init__(policy)
        self.calls: dict[str, int] = {}
        self.before_update: Callable[[], None] | None = None
        self.within: list[UnitOfWork | None] = []  # the unit of work each update was given
        self.read_within: list[UnitOfWork] = []  # the units of work reads were given

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def writes(self) -> int:
        """How many writing calls were made."""
        return sum(n for name, n in self.calls.items() if name not in ("get", "list_for_user"))

    def get(self, digest: TokenDigest, *, within: UnitOfWork | None = None) -> UserSession | None:
        self._count("get")
        if within is not None:
            self.read_within.append(within)
        return super().get(digest, within=within)

    def update(
        self, session: UserSession, changes: SessionChanges, *, within: UnitOfWork | None = None
    ) -> UserSession:
        self._count("update")
        self.within.append(within)
        if self.before_update is not None:
            self.before_update()
        return super().update(session, changes, within=within)

    def touch(self, session: UserSession, seen_at: datetime) -> UserSession | None:
        self._count("touch")
        return super().touch(session, seen_at)

    def write_data(self, session, changes, **kwargs):  # type: ignore[no-untyped-def]
        self._count("write_data")
        return super().write_data(session, changes, **kwargs)

    def create(self, session, *, max_sessions):  # type: ignore[no-untyped-def]
        self._count("create")
        return super().create(session, max_sessions=max_sessions)

    def delete(self, session):  # type: ignore[no-untyped-def]
        self._count("delete")
        return super().delete(session)


class RecordingDirectory(InMemoryPlatformDirectory):
    """The fake directory, remembering which users were invalidated."""

    def __init__(self, store: InMemoryPlatformStore) -> None:
        super().__init__(store)
        self.invalidated: list[str] = []

    def invalidate(self, user_id: str) -> None:
        self.invalidated.append(user_id)


@attrs.define
class World:
    clock: ManualClock
    policy: SessionPolicy
    sessions: RecordingSessions
    store: InMemoryPlatformStore
    directory: RecordingDirectory
    publisher: InMemoryEventPublisher

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)

    def events(self, kind: type[DomainEvent] = DomainEvent) -> list[DomainEvent]:
        return [event for event in self.publisher.published if isinstance(event, kind)]

    def _platform_parts(self) -> dict[str, object]:
        return {
            "uow_factory": self.uow,
            "directory": self.directory,
            "sessions": self.sessions,
            "publisher": self.publisher,
            "clock": self.clock,
        }

    @property
    def start(self) -> StartSession:
        return StartSession(
            self.sessions, self.directory, self.publisher, self.clock, self.policy, ROUTING_KEY
        )

    @property
    def start_anonymous(self) -> StartAnonymousSession:
        return StartAnonymousSession(self.sessions, self.clock, self.policy)

    @property
    def write_data(self) -> WriteSessionData:
        return WriteSessionData(self.sessions, self.policy)

    @property
    def resolve(self) -> ResolveSession:
        contexts = ComposedSessionContextQuery(self.sessions, self.directory, self.policy)
        return ResolveSession(contexts, self.clock, self.policy)

    @property
    def rotate(self) -> RotateSession:
        return RotateSession(self.sessions, self.publisher, self.clock, ROUTING_KEY)

    @property
    def switch(self) -> SwitchPlatform:
        return SwitchPlatform(self.sessions, self.uow, self.publisher, self.clock, self.policy, self.rotate)

    @property
    def end(self) -> EndSession:
        return EndSession(self.sessions, self.publisher, self.clock)

    @property
    def revoke(self) -> RevokeSession:
        return RevokeSession(self.sessions, self.end, self.clock)

    @property
    def end_all(self) -> EndAllSessions:
        return EndAllSessions(self.sessions, self.publisher, self.clock)

    @property
    def list_sessions(self) -> ListSessions:
        return ListSessions(self.sessions, self.clock, self.policy)

    @property
    def purge(self) -> PurgeExpiredSessions:
        return PurgeExpiredSessions(self.sessions, self.clock)

    @property
    def connect(self) -> ConnectPlatform:
        return ConnectPlatform(**self._platform_parts())  # type: ignore[arg-type]

    @property
    def update_platform(self) -> UpdatePlatform:
        return UpdatePlatform(**self._platform_parts())  # type: ignore[arg-type]

    @property
    def set_default(self) -> SetDefaultPlatform:
        return SetDefaultPlatform(**self._platform_parts())  # type: ignore[arg-type]

    @property
    def deactivate(self) -> DeactivatePlatform:
        return DeactivatePlatform(**self._platform_parts())  # type: ignore[arg-type]

    @property
    def activate(self) -> ActivatePlatform:
        return ActivatePlatform(**self._platform_parts())  # type: ignore[arg-type]

    @property
    def remove(self) -> RemovePlatform:
        return RemovePlatform(**self._platform_parts())  # type: ignore[arg-type]

    def connect_two(self, user_id: str = "alice"):  # type: ignore[no-untyped-def]
        """A user with a default Mastodon and a second Pixelfed account."""
        mastodon = self.connect(
            user_id,
            name="Mastodon",
            platform_type="mastodon",
            instance_url="https://mastodon.example",
            username=user_id,
        )
        pixelfed = self.connect(
            user_id,
            name="Pixelfed",
            platform_type="pixelfed",
            instance_url="https://pixelfed.example",
            username=user_id,
        )
        return mastodon, pixelfed
