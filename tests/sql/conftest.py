"""Fixtures of the SQL adapter tests: migrated databases, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from platform_sessions.adapters.sqlalchemy import SqlAlchemyUserSessionRepository
from platform_sessions.domain.policy import SessionPolicy
from tests.sql.databases import KINDS, SqlDatabase, open_database


@pytest.fixture(params=KINDS)
def sql_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlDatabase]:
    """A migrated database of each kind, in turn."""
    yield from open_database(request, tmp_path, request.param)


@pytest.fixture
def sqlite_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlDatabase]:
    yield from open_database(request, tmp_path, "sqlite")


@pytest.fixture
def postgres_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlDatabase]:
    yield from open_database(request, tmp_path, "postgresql")


@pytest.fixture
def repository(sql_database: SqlDatabase, policy: SessionPolicy) -> SqlAlchemyUserSessionRepository:
    """The user-session repository on each kind of database, in turn."""
    return SqlAlchemyUserSessionRepository(sql_database.sessions, sql_database.tables, policy)
