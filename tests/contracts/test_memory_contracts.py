"""The contract suites against the in-memory fakes."""

from __future__ import annotations

import pytest

from platform_sessions.adapters.composed_session_contexts import ComposedSessionContextQuery
from platform_sessions.adapters.memory import (
    InMemoryPlatformDirectory,
    InMemoryPlatformStore,
    InMemoryUnitOfWork,
    InMemoryUserSessionRepository,
)
from tests.contracts.platform_directory import PlatformDirectoryContract
from tests.contracts.session_context_query import SessionContextQueryContract
from tests.contracts.unit_of_work import UnitOfWorkContract
from tests.contracts.user_session_repository import UserSessionRepositoryContract


@pytest.fixture
def platform_store():
    return InMemoryPlatformStore()


class TestInMemoryUserSessionRepository(UserSessionRepositoryContract):
    @pytest.fixture
    def repository(self, policy):
        return InMemoryUserSessionRepository(policy)

    @pytest.fixture
    def uow_factory(self, platform_store):
        return lambda: InMemoryUnitOfWork(platform_store)


class TestInMemoryUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    def uow_factory(self, platform_store):
        return lambda: InMemoryUnitOfWork(platform_store)


class TestInMemoryPlatformDirectory(PlatformDirectoryContract):
    @pytest.fixture
    def uow_factory(self, platform_store):
        return lambda: InMemoryUnitOfWork(platform_store)

    @pytest.fixture
    def directory(self, platform_store):
        return InMemoryPlatformDirectory(platform_store)


class TestComposedSessionContextQueryInMemory(SessionContextQueryContract):
    @pytest.fixture
    def repository(self, policy):
        return InMemoryUserSessionRepository(policy)

    @pytest.fixture
    def uow_factory(self, platform_store):
        return lambda: InMemoryUnitOfWork(platform_store)

    @pytest.fixture
    def query(self, repository, platform_store, policy):
        return ComposedSessionContextQuery(repository, InMemoryPlatformDirectory(platform_store), policy)
