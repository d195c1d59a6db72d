"""The in-memory storage: its dependency-injector container and its builder."""

from __future__ import annotations

from attrs import frozen
from dependency_injector import containers, providers

from platform_sessions.adapters.composed_session_contexts import ComposedSessionContextQuery
from platform_sessions.adapters.memory import (
    InMemoryEventPublisher,
    InMemoryPlatformDirectory,
    InMemoryPlatformStore,
    InMemoryUnitOfWork,
    InMemoryUserSessionRepository,
)
from platform_sessions.application.storage_operations import StorageHealth
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.entrypoints.container import OpenStorage, Wiring, open_storage


class MemoryStorage(containers.DeclarativeContainer):
    """Everything in this process's memory: for tests, demos and single-process tools.

    Every storage container provides the same names: ``user_sessions``, ``session_contexts``,
    ``platform_directory``, ``uow_factory``, ``event_publisher``.
    """

    policy = providers.Dependency(instance_of=SessionPolicy)

    platform_store = providers.Singleton(InMemoryPlatformStore)
    user_sessions = providers.Singleton(InMemoryUserSessionRepository, policy=policy)
    platform_directory = providers.Singleton(InMemoryPlatformDirectory, store=platform_store)
    uow_factory = providers.Factory(InMemoryUnitOfWork, store=platform_store)
    session_contexts = providers.Singleton(
        ComposedSessionContextQuery, sessions=user_sessions, directory=platform_directory, policy=policy
    )
    event_publisher = providers.Singleton(InMemoryEventPublisher)


@frozen
class MemoryStorageBuilder:
    """Opens a :class:`MemoryStorage`: nothing to reach, always healthy, nothing to release."""

    def container(self, wiring: Wiring) -> MemoryStorage:
        """The container, nothing built yet; override its providers before :meth:`open`."""
        return MemoryStorage(policy=wiring.policy)

    def open(self, wiring: Wiring, *, container: MemoryStorage | None = None) -> OpenStorage:
        container = container or self.container(wiring)
        return open_storage(
            container,
            wiring,
            report=lambda: StorageHealth(storage="memory", healthy=True),
            description="memory in this process only",
        )
