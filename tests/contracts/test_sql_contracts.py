"""The contract suites against the SQLAlchemy adapters, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from platform_sessions.adapters.sqlalchemy import (
    SqlAlchemyPlatformDirectory,
    SqlAlchemySessionContextQuery,
    SqlAlchemyUnitOfWork,
    SqlAlchemyUserSessionRepository,
)
from tests.contracts.platform_directory import PlatformDirectoryContract
from tests.contracts.session_context_query import SessionContextQueryContract
from tests.contracts.unit_of_work import UnitOfWorkContract
from tests.contracts.user_session_repository import UserSessionRepositoryContract
from tests.sql.databases import KINDS, SqlDatabase, open_database


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlDatabase]:
    yield from open_database(request, tmp_path, request.param)


@pytest.fixture
def sql_uow_factory(database):
    return lambda: SqlAlchemyUnitOfWork(database.sessions, database.tables)


class TestSqlAlchemyUserSessionRepository(UserSessionRepositoryContract):
    @pytest.fixture
    def repository(self, database, policy):
        return SqlAlchemyUserSessionRepository(database.sessions, database.tables, policy)

    @pytest.fixture
    def uow_factory(self, sql_uow_factory):
        return sql_uow_factory


class TestSqlAlchemyUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    def uow_factory(self, sql_uow_factory):
        return sql_uow_factory


class TestSqlAlchemyPlatformDirectory(PlatformDirectoryContract):
    @pytest.fixture
    def uow_factory(self, sql_uow_factory):
        return sql_uow_factory

    @pytest.fixture
    def directory(self, database):
        return SqlAlchemyPlatformDirectory(database.sessions, database.tables)


class TestSqlSessionContextQuery(SessionContextQueryContract):
    @pytest.fixture
    def repository(self, database, policy):
        return SqlAlchemyUserSessionRepository(database.sessions, database.tables, policy)

    @pytest.fixture
    def uow_factory(self, sql_uow_factory):
        return sql_uow_factory

    @pytest.fixture
    def query(self, database, policy):
        # The SQL storage's own one-transaction query (the composed one is tested in memory).
        return SqlAlchemySessionContextQuery(database.sessions, database.tables, policy)
