"""SQLAlchemy adapters: the durable record of user sessions, and the platform connections.

Build them from one engine and one ``sessionmaker`` per process::

    engine = create_sql_engine("postgresql+psycopg://.../app")   # or sqlite:///sessions.db
    upgrade_database(...)  or  upgrade_schema(engine)             # at deploy time
    database_sessions = database_session_factory(engine)
    tables = sql_tables("ps_")
    SqlAlchemyUserSessionRepository(database_sessions, tables, policy)
    SqlAlchemyPlatformDirectory(database_sessions, tables)
    SqlAlchemySessionContextQuery(database_sessions, tables, policy)
    lambda: SqlAlchemyUnitOfWork(database_sessions, tables)
"""

from platform_sessions.adapters.sqlalchemy.engine import SqlEngineSettings, create_sql_engine
from platform_sessions.adapters.sqlalchemy.errors import translated_errors
from platform_sessions.adapters.sqlalchemy.migrate import downgrade_schema, upgrade_database, upgrade_schema
from platform_sessions.adapters.sqlalchemy.platform_connection_repository import (
    SqlAlchemyPlatformConnectionRepository,
)
from platform_sessions.adapters.sqlalchemy.platform_directory import SqlAlchemyPlatformDirectory
from platform_sessions.adapters.sqlalchemy.session_contexts import SqlAlchemySessionContextQuery
from platform_sessions.adapters.sqlalchemy.tables import DEFAULT_TABLE_PREFIX, SqlTables, sql_tables
from platform_sessions.adapters.sqlalchemy.timeouts import DatabaseTimeouts
from platform_sessions.adapters.sqlalchemy.transactions import (
    DatabaseSessionFactory,
    database_session_factory,
)
from platform_sessions.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from platform_sessions.adapters.sqlalchemy.user_session_repository import SqlAlchemyUserSessionRepository
from platform_sessions.adapters.sqlalchemy.user_sessions_in_transaction import UserSessionsInTransaction

__all__ = [
    "DEFAULT_TABLE_PREFIX",
    "DatabaseTimeouts",
    "DatabaseSessionFactory",
    "SqlAlchemyPlatformConnectionRepository",
    "SqlAlchemyPlatformDirectory",
    "SqlAlchemyUnitOfWork",
    "SqlAlchemyUserSessionRepository",
    "SqlEngineSettings",
    "SqlAlchemySessionContextQuery",
    "SqlTables",
    "UserSessionsInTransaction",
    "create_sql_engine",
    "downgrade_schema",
    "database_session_factory",
    "sql_tables",
    "translated_errors",
    "upgrade_database",
    "upgrade_schema",
]
