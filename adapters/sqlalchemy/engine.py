"""The engine: one per process, its pool sized on purpose, SQLite made safe for threads."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url

from platform_sessions.adapters.sqlalchemy.json_codec import decode_json_leniently, encode_json
from platform_sessions.adapters.sqlalchemy.postgres_connections import configure_postgres
from platform_sessions.adapters.sqlalchemy.sqlite_connections import configure_sqlite
from platform_sessions.adapters.sqlalchemy.timeouts import DatabaseTimeouts
from platform_sessions.domain.errors import InvalidInput

MIN_SQLITE = (3, 35)


@dataclass(frozen=True)
class SqlEngineSettings:
    """Pool and connection settings; the defaults suit a web process of a few dozen threads.

    Each use case holds a connection for one short transaction and gives it back, so a few
    connections serve many threads.

    - ``pool_size``: connections kept open; ``max_overflow``: extra ones opened under load
      and closed when returned.
    - ``pool_recycle_s``: replace connections older than this, before a firewall or the
      server drops them silently; ``pool_pre_ping`` also checks each one at checkout.
    - ``timeouts``: how long a checkout, a connect, a round trip or a SQLite lock wait may
      take before the call is :class:`StoreUnavailable` (a 503, not a hung request); see
      :class:`DatabaseTimeouts`.
    """

    pool_size: int = 5
    max_overflow: int = 10
    pool_recycle_s: int = 1800
    timeouts: DatabaseTimeouts = field(default_factory=DatabaseTimeouts)
    echo: bool = False

    def __post_init__(self) -> None:
        if self.pool_size < 1 or self.max_overflow < 0:
            raise InvalidInput("pool_size must be at least 1 and max_overflow at least 0")
        if not isinstance(self.timeouts, DatabaseTimeouts):
            raise InvalidInput("timeouts must be a DatabaseTimeouts")


def create_sql_engine(database_url: str | URL, settings: SqlEngineSettings | None = None) -> Engine:
    """Create the process's engine for ``database_url`` (a SQLite file or a server URL).

    Connects lazily: nothing is opened until the first use. An in-memory SQLite database is
    refused: every pooled connection would see its own empty database.
    """
    settings = settings or SqlEngineSettings()
    url = make_url(database_url)
    options: dict[str, Any] = {
        "pool_size": settings.pool_size,
        "max_overflow": settings.max_overflow,
        "pool_timeout": settings.timeouts.pool_checkout_s,
        "pool_recycle": settings.pool_recycle_s,
        "pool_pre_ping": True,
        "json_serializer": encode_json,
        "json_deserializer": decode_json_leniently,
        "echo": settings.echo,
    }
    if url.get_backend_name() == "sqlite":
        _require_sqlite_file(url)
        engine = create_engine(url, **options)
        configure_sqlite(engine, busy_timeout_ms=settings.timeouts.sqlite_busy_timeout_ms)
        return engine
    postgres = url.get_backend_name() == "postgresql"
    if postgres and url.get_driver_name() != "psycopg" and "connect_timeout" not in url.query:
        # Another driver (psycopg2): only its connect can be bounded here.
        options["connect_args"] = {"connect_timeout": settings.timeouts.connect_s}
    engine = create_engine(url, **options)
    if postgres and url.get_driver_name() == "psycopg":
        configure_postgres(engine, settings.timeouts)
    return engine


def _require_sqlite_file(url: URL) -> None:
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise InvalidInput(
            f"SQLite {sqlite3.sqlite_version} is too old: the SQL storage needs "
            f"{'.'.join(map(str, MIN_SQLITE))} or later (UPDATE ... RETURNING)"
        )
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    if in_memory:
        raise InvalidInput(
            "an in-memory SQLite database cannot be shared by a pool; give a file "
            "(sqlite:///path/sessions.db) or use storage='memory'"
        )
