"""The in-memory storage as a dependency-injector container (one of several storages)."""

from __future__ import annotations

from dependency_injector import containers, providers

from platform_sessions.adapters.composed_session_contexts import ComposedSessionContextQuery
from platform_sessions.adapters.memory import (
    InMemoryEventPublisher,
    InMemoryPlatformDirectory,
    InMemoryPlatformStore,
    InMemoryUnitOfWork,
    InMemoryUserSessionRepository,
)
from platform_sessions.domain.policy import SessionPolicy


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
