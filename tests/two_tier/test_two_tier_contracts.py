"""The contract suites against the two-tier adapters, on fakeredis + SQLite and on a real Redis
and PostgreSQL: the same answers as every other storage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contracts.platform_directory import PlatformDirectoryContract
from tests.contracts.session_context_query import SessionContextQueryContract
from tests.contracts.user_session_repository import UserSessionRepositoryContract
from tests.two_tier.wiring import LEGS, leg_storage


@pytest.fixture(params=LEGS)
def storage(request: pytest.FixtureRequest, tmp_path, policy, clock) -> Iterator[object]:
    yield from leg_storage(request, request.param, tmp_path, policy, clock)


class TestTwoTierUserSessionRepository(UserSessionRepositoryContract):
    @pytest.fixture
    def repository(self, storage):
        return storage.user_sessions()

    @pytest.fixture
    def uow_factory(self, storage):
        return storage.uow_factory


class TestTwoTierSessionContextQuery(SessionContextQueryContract):
    @pytest.fixture
    def repository(self, storage):
        return storage.user_sessions()

    @pytest.fixture
    def uow_factory(self, storage):
        return storage.uow_factory

    @pytest.fixture
    def query(self, storage):
        return storage.session_contexts()


class TestTwoTierPlatformDirectory(PlatformDirectoryContract):
    @pytest.fixture
    def uow_factory(self, storage):
        return storage.uow_factory

    @pytest.fixture
    def directory(self, storage):
        return storage.platform_directory()
