"""Bringing a database to the schema this version of the library needs."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, text
from sqlalchemy.engine import URL, Connection, Engine

from platform_sessions.adapters.sqlalchemy.engine import SqlEngineSettings, create_sql_engine
from platform_sessions.adapters.sqlalchemy.migrations import CONNECTION_ATTRIBUTE, TABLE_PREFIX_ATTRIBUTE
from platform_sessions.adapters.sqlalchemy.postgres_connections import unbounded
from platform_sessions.adapters.sqlalchemy.tables import DEFAULT_TABLE_PREFIX, checked_table_prefix
from platform_sessions.adapters.sqlalchemy.user_lock import advisory_lock_key_for

MIGRATIONS = "platform_sessions.adapters.sqlalchemy:migrations"
HEAD = "head"


def upgrade_database(database_url: str | URL, *, table_prefix: str = DEFAULT_TABLE_PREFIX) -> None:
    """Create or upgrade the platform-sessions tables named ``<table_prefix>...`` at
    ``database_url`` to the current schema. Safe to run again, and from several processes
    at once (they take turns)."""
    engine = create_sql_engine(database_url, SqlEngineSettings(pool_size=1, max_overflow=0))
    try:
        upgrade_schema(engine, table_prefix=table_prefix)
    finally:
        engine.dispose()


def upgrade_schema(engine: Engine, *, table_prefix: str = DEFAULT_TABLE_PREFIX, revision: str = HEAD) -> None:
    """:func:`upgrade_database` on an engine the caller already has (the process's own)."""
    with engine.begin() as connection:
        _run(connection, table_prefix, "upgrade", revision)


def downgrade_schema(
    engine: Engine, *, table_prefix: str = DEFAULT_TABLE_PREFIX, revision: str = "base"
) -> None:
    """Undo revisions down to ``revision``; ``base`` drops the tables and all their data."""
    with engine.begin() as connection:
        _run(connection, table_prefix, "downgrade", revision)


def _run(connection: Connection, table_prefix: str, direction: str, revision: str) -> None:
    # One transaction for the whole run (PostgreSQL and SQLite both have transactional DDL):
    # a failed upgrade leaves the schema as it was. Concurrent upgraders take turns: on
    # PostgreSQL through an advisory lock, on SQLite through the write lock that our
    # engine's BEGIN IMMEDIATE takes; the second then finds the schema current.
    prefix = checked_table_prefix(table_prefix)
    if connection.dialect.name == "postgresql":
        # A migration's DDL (an index on a large table) and the wait for another upgrader may
        # take longer than a request's bound: lifted for this transaction, on both sides.
        connection.execute(text("SET LOCAL statement_timeout = 0"))
        with unbounded(connection.connection.dbapi_connection):
            connection.execute(
                select(func.pg_advisory_xact_lock(advisory_lock_key_for(f"{prefix}migrations")))
            )
            _run_alembic(connection, prefix, direction, revision)
        return
    _run_alembic(connection, prefix, direction, revision)


def _run_alembic(connection: Connection, prefix: str, direction: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes[CONNECTION_ATTRIBUTE] = connection
    config.attributes[TABLE_PREFIX_ATTRIBUTE] = prefix
    if direction == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)
