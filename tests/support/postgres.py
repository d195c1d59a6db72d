"""A database of the test run's own on the PostgreSQL server, a schema in it, and URLs that select it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from tests.support.settings import (
    LOOPBACK,
    POSTGRES_MAINTENANCE_DATABASE,
    POSTGRES_USER,
    postgres_database,
)

CONNECT_TIMEOUT_S = 3
# Dropping waits for locks held by connections a test forgot to close; bound that wait.
DROP_LOCK_TIMEOUT = "10s"
SCHEMA_PREFIX = "ps_test_"
DATABASE_PREFIX = "ps_test_run_"


@dataclass(frozen=True)
class PostgresServer:
    """A database on the test server; always on loopback, only the port may vary.

    The database is the run's own (made by the postgres fixtures) unless one is named.
    """

    port: int
    host: str = LOOPBACK
    user: str = POSTGRES_USER
    database: str = field(default_factory=postgres_database)

    @property
    def address(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit admin connection; raises psycopg.OperationalError when unreachable."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname=self.database,
            connect_timeout=CONNECT_TIMEOUT_S,
            autocommit=True,
        )

    def sqlalchemy_url(self, search_path: str) -> str:
        """A psycopg (v3) SQLAlchemy URL whose every connection starts in `search_path`.

        `options` is handed to libpq, which sends it as a startup parameter, so it also
        holds for pooled connections and for code that never runs SET itself.
        """
        url = URL.create(
            "postgresql+psycopg",
            username=self.user,
            host=self.host,
            port=self.port,
            database=self.database,
            query={"options": f"-csearch_path={search_path}"},
        )
        return url.render_as_string(hide_password=False)


def unreachable_reason(server: PostgresServer) -> str | None:
    """Why the server cannot be used, or None when a connection and a query succeed."""
    try:
        with server.connect() as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError as error:
        # libpq spreads its message over several lines; a skip reason reads better on one.
        return f"{type(error).__name__}: {' '.join(str(error).split())}"
    return None


def maintenance_server(port: int) -> PostgresServer:
    """The server's maintenance database, from where a run creates and drops its own."""
    return PostgresServer(port=port, database=POSTGRES_MAINTENANCE_DATABASE)


def new_schema_name() -> str:
    # Random, so that concurrent runs (two developers' terminals, CI retries) never collide.
    return f"{SCHEMA_PREFIX}{secrets.token_hex(6)}"


def new_database_name() -> str:
    return f"{DATABASE_PREFIX}{secrets.token_hex(6)}"


def create_database(server: PostgresServer, database: str) -> None:
    with server.connect() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def drop_database(server: PostgresServer, database: str) -> None:
    """Drop it even while a test's forgotten pool still holds connections (FORCE ends them)."""
    with server.connect() as connection:
        connection.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(DROP_LOCK_TIMEOUT)))
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def create_schema(server: PostgresServer, schema: str) -> None:
    with server.connect() as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
