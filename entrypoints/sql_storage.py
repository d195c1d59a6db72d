"""The SQL storage: everything in one SQL database (SQLite file or server).

Its container provides the names every storage container provides (``user_sessions``,
``session_contexts``, ``platform_directory``, ``uow_factory``, ``event_publisher``), plus
``engine``, ``database_sessions`` and ``tables``, which the two-tier storage builds on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from attrs import Factory, frozen
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
from platform_sessions.adapters.sqlalchemy.reachability import database_reachable, verify_database
from platform_sessions.adapters.sqlalchemy.tables import checked_table_prefix
from platform_sessions.application.storage_operations import StorageHealth
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.entrypoints.container import OpenStorage, Wiring, lasting, open_storage
from platform_sessions.entrypoints.settings import described_database
from platform_sessions.entrypoints.sqlite_file import hold_sqlite_file
from platform_sessions.entrypoints.store_checks import StoreCheck


def held_sqlite_file(database_url: str, exclusive: bool) -> Iterator[None]:
    """The SQLite file's lock (a no-op for a database server) while the storage is open."""
    yield from lasting(None, hold_sqlite_file(database_url, exclusive=exclusive), "the SQLite file's lock")


def migrated_engine(
    database_url: str, settings: SqlEngineSettings, table_prefix: str, migrate: bool | None, _held: None
) -> Iterator[Engine]:
    """The process's one engine, its tables upgraded first if ``migrate``; ``None`` means yes
    for a SQLite file, the embedded database nobody else deploys, and no for a database
    server, whose schema changes belong to the deployment (``upgrade_database``) rather than
    to whichever process happens to start first. ``_held`` orders it after the file's lock."""
    engine = create_sql_engine(database_url, settings)
    try:
        if migrate or (migrate is None and engine.dialect.name == "sqlite"):
            upgrade_schema(engine, table_prefix=table_prefix)
    except BaseException:
        engine.dispose()
        raise
    yield from lasting(engine, engine.dispose, "the SQL engine")


class SqlStorage(containers.DeclarativeContainer):
    """User sessions and platform connections in a SQL database.

    The engine is created on first use, once; nothing connects until a use case runs.
    Events go to an in-process publisher for now.
    """

    policy = providers.Dependency(instance_of=SessionPolicy)
    database_url = providers.Dependency(instance_of=str)
    table_prefix = providers.Dependency(instance_of=str, default=DEFAULT_TABLE_PREFIX)
    engine_settings = providers.Dependency(instance_of=SqlEngineSettings, default=SqlEngineSettings())
    migrate = providers.Object(False)  # or True, or None (see migrated_engine)
    exclusive_file = providers.Object(False)

    file_lock = providers.Resource(held_sqlite_file, database_url, exclusive_file)
    engine = providers.Resource(
        migrated_engine, database_url, engine_settings, table_prefix, migrate, file_lock
    )
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


@frozen(kw_only=True)
class SqlStorageBuilder:
    """Opens a :class:`SqlStorage` on ``database_url``, migrated as ``migrate`` says (see
    :func:`migrated_engine`), holding a SQLite file's lock shared while open."""

    database_url: str
    table_prefix: str = DEFAULT_TABLE_PREFIX
    engine_settings: SqlEngineSettings = Factory(SqlEngineSettings)
    migrate: bool | None = None

    def container(self, wiring: Wiring) -> SqlStorage:
        """The container, nothing built yet; override its providers before :meth:`open`."""
        container = SqlStorage(policy=wiring.policy)
        self.configure(container)
        return container

    def configure(self, container: Any, *, exclusive_file: bool = False) -> None:
        """Point ``container``, a :class:`SqlStorage` (the two-tier storage's is nested), at
        this builder's database; ``exclusive_file`` for a storage no other process may share."""
        container.database_url.override(providers.Object(self.database_url))
        container.table_prefix.override(providers.Object(checked_table_prefix(self.table_prefix)))
        container.engine_settings.override(providers.Object(self.engine_settings))
        container.migrate.override(providers.Object(self.migrate))
        container.exclusive_file.override(providers.Object(exclusive_file))

    def check(self, container: Any, wiring: Wiring) -> StoreCheck:
        """Whether the database is writable, migrated and holds this routing key's data."""
        where = described_database(self.database_url)
        return lambda: verify_database(
            container.database_sessions(), container.tables(), where=where, fingerprint=wiring.fingerprint
        )

    def open(self, wiring: Wiring, *, container: SqlStorage | None = None) -> OpenStorage:
        """See :class:`StorageBuilder`; ``container`` is one from :meth:`container`, its
        providers overridden (tests inject faults there)."""
        container = container or self.container(wiring)
        checks = [self.check(container, wiring)]
        description = f"sql {described_database(self.database_url)}"
        return open_storage(
            container,
            wiring,
            report=sql_health(container),
            description=description,
            checks=checks,
        )


def sql_health(container: Any) -> Callable[[], StorageHealth]:
    """One ``SELECT 1`` per report."""

    def report() -> StorageHealth:
        reachable = database_reachable(container.database_sessions())
        return StorageHealth(storage="sql", healthy=reachable, database_reachable=reachable)

    return report
