"""The SQL storage as a dependency-injector container: everything in one SQL database.

It provides the names every storage container provides (``user_sessions``,
``session_contexts``, ``platform_directory``, ``uow_factory``, ``event_publisher``), plus
``engine``, the process's one engine, for migrations and for closing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dependency_injector import containers, providers
from sqlalchemy.engine import Engine

from platform_sessions.adapters.memory import InMemoryEventPublisher
from platform_sessions.adapters.sqlalchemy import (
    DEFAULT_TABLE_PREFIX,
    SqlAlchemyPlatformDirectory,
    SqlAlchemySessionContextQuery,
    SqlAlchemyUnitOfWork,
    SqlAlchemyUserSessionRepository,
    SqlEngineSettings,
    create_sql_engine,
    database_session_factory,
    sql_tables,
    upgrade_schema,
)
from platform_sessions.adapters.sqlalchemy.tables import checked_table_prefix
from platform_sessions.domain.policy import SessionPolicy

if TYPE_CHECKING:
    from platform_sessions.entrypoints.container import Container


class SqlStorage(containers.DeclarativeContainer):
    """User sessions and platform connections in a SQL database (SQLite file or server).

    The engine is created on first use, once; nothing connects until a use case runs.
    Events go to an in-process publisher for now.
    """

    policy = providers.Dependency(instance_of=SessionPolicy)
    database_url = providers.Dependency(instance_of=str)
    table_prefix = providers.Dependency(instance_of=str, default=DEFAULT_TABLE_PREFIX)
    engine_settings = providers.Dependency(instance_of=SqlEngineSettings, default=SqlEngineSettings())

    engine = providers.Singleton(create_sql_engine, database_url, engine_settings)
    tables = providers.Singleton(sql_tables, table_prefix)
    database_sessions = providers.Singleton(database_session_factory, engine)

    user_sessions = providers.Singleton(
        SqlAlchemyUserSessionRepository, database_sessions=database_sessions, tables=tables, policy=policy
    )
    platform_directory = providers.Singleton(
        SqlAlchemyPlatformDirectory, database_sessions=database_sessions, tables=tables
    )
    uow_factory = providers.Factory(SqlAlchemyUnitOfWork, database_sessions=database_sessions, tables=tables)
    # Resolve in one transaction (session, touch if due, platforms), not one per port call.
    session_contexts = providers.Singleton(
        SqlAlchemySessionContextQuery, database_sessions=database_sessions, tables=tables, policy=policy
    )
    event_publisher = providers.Singleton(InMemoryEventPublisher)


def plug_sql_storage(
    container: Container,
    *,
    database_url: str,
    table_prefix: str = DEFAULT_TABLE_PREFIX,
    engine_settings: SqlEngineSettings | None = None,
    migrate: bool | None = None,
) -> Callable[[], None]:
    """Plug a :class:`SqlStorage` into ``container`` and return what releases its engine.

    ``migrate``: upgrade the tables to the current schema now. ``None`` (the default) means
    yes for a SQLite file, the embedded database nobody else deploys, and no for a database
    server, whose schema changes belong to the deployment (``upgrade_database``) rather than
    to whichever process happens to start first.
    """
    storage = SqlStorage(
        policy=container.policy,
        database_url=database_url,
        table_prefix=checked_table_prefix(table_prefix),
        engine_settings=engine_settings or SqlEngineSettings(),
    )
    engine: Engine = storage.engine()
    try:
        if migrate or (migrate is None and engine.dialect.name == "sqlite"):
            upgrade_schema(engine, table_prefix=table_prefix)
    except BaseException:
        engine.dispose()
        raise
    container.storage.override(storage)
    return engine.dispose
