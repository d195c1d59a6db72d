"""The engine: one per process, its pool sized on purpose, SQLite made safe for threads."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url

from platform_sessions.adapters.sqlalchemy.json_codec import decode_json_leniently, encode_json
from platform_sessions.adapters.sqlalchemy.sqlite_connections import configure_sqlite
from platform_sessions.domain.errors import InvalidInput

MIN_SQLITE = (3, 35)


@dataclass(frozen=True)
class SqlEngineSettings:
    """Pool and connection settings; the defaults suit a web process of a few dozen threads.

    Each use case holds a connection for one short transaction and gives it back, so a few
    connections serve many threads; a thread that finds none free waits ``pool_timeout_s``
    and then gets :class:`StoreUnavailable` (a 503), not a hung request.

    - ``pool_size``: connections kept open; ``max_overflow``: extra ones opened under load
      and closed when returned.
    - ``pool_recycle_s``: replace connections older than this, before a firewall or the
      server drops them silently; ``pool_pre_ping`` also checks each one at checkout.
    - ``connect_timeout_s``: how long a new PostgreSQL connection may take.
    - ``sqlite_busy_timeout_ms``: how long a SQLite writer waits for the write lock.
    """

    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout_s: float = 10.0
    pool_recycle_s: int = 1800
    connect_timeout_s: int = 5
    sqlite_busy_timeout_ms: int = 5000
    echo: bool = False

    def __post_init__(self) -> None:
        if self.pool_size < 1 or self.max_overflow < 0:
            raise InvalidInput("pool_size must be at least 1 and max_overflow at least 0")
        if self.pool_timeout_s <= 0 or self.connect_timeout_s <= 0 or self.sqlite_busy_timeout_ms < 0:
            raise InvalidInput("pool, connect and busy timeouts must be positive")


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
        "pool_timeout": settings.pool_timeout_s,
        "pool_recycle": settings.pool_recycle_s,
        "pool_pre_ping": True,
        "json_serializer": encode_json,
        "json_deserializer": decode_json_leniently,
        "echo": settings.echo,
    }
    if url.get_backend_name() == "sqlite":
        _require_sqlite_file(url)
        engine = create_engine(url, **options)
        configure_sqlite(engine, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        return engine
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        options["connect_args"] = {"connect_timeout": settings.connect_timeout_s}
    return create_engine(url, **options)


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
