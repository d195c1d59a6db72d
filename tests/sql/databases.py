"""Migrated SQL databases for tests: a SQLite file, or the shared PostgreSQL, own tables each.

Every database is created by the shipped migrations (not ``metadata.create_all``), so the
tests exercise the schema users get. Each one gets a fresh random table prefix: tests are
isolated from each other and from other runs even in the one shared PostgreSQL schema.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from platform_sessions.adapters.sqlalchemy import (
    DatabaseSessionFactory,
    SqlEngineSettings,
    SqlTables,
    create_sql_engine,
    database_session_factory,
    sql_tables,
    upgrade_schema,
)

KINDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class SqlDatabase:
    """One migrated set of tables and the engine and sessionmaker built on them."""

    kind: str
    url: str
    engine: Engine
    tables: SqlTables
    sessions: DatabaseSessionFactory

    @property
    def prefix(self) -> str:
        return self.tables.prefix


def unique_prefix() -> str:
    return f"t{secrets.token_hex(4)}_"


def database_url(request: pytest.FixtureRequest, kind: str, directory: Path) -> str:
    """A SQLite file in ``directory``, or the run's PostgreSQL schema (skips if absent)."""
    if kind == "sqlite":
        return f"sqlite:///{directory / 'sessions.db'}"
    # Asked for only here, so SQLite tests run where PostgreSQL is absent.
    url: str = request.getfixturevalue("postgres_url")
    return url


@contextmanager
def migrated_database(
    kind: str, url: str, settings: SqlEngineSettings | None = None, prefix: str | None = None
) -> Iterator[SqlDatabase]:
    """Tables migrated under a fresh prefix; dropped afterwards (PostgreSQL) and the engine disposed."""
    tables = sql_tables(prefix or unique_prefix())
    engine = create_sql_engine(url, settings)
    try:
        upgrade_schema(engine, table_prefix=tables.prefix)
        yield SqlDatabase(kind, url, engine, tables, database_session_factory(engine))
    finally:
        if kind == "postgresql":
            drop_tables(engine, tables)
        engine.dispose()


def drop_tables(engine: Engine, tables: SqlTables) -> None:
    with engine.begin() as connection:
        for table in (*tables.metadata.tables, tables.version_table):
            connection.execute(text(f'DROP TABLE IF EXISTS "{table}"'))


def open_database(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str, settings: SqlEngineSettings | None = None
) -> Iterator[SqlDatabase]:
    """Body of the database fixtures: yield a migrated database of ``kind``."""
    with migrated_database(kind, database_url(request, kind, tmp_path), settings) as database:
        yield database
