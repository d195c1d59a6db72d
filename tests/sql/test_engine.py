"""The engine: lazy, sized, pre-pinged; on SQLite WAL, a busy timeout and real transactions."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.pool import QueuePool

from platform_sessions.adapters.sqlalchemy import (
    DatabaseTimeouts,
    SqlAlchemyUnitOfWork,
    SqlEngineSettings,
    create_sql_engine,
)
from platform_sessions.domain.errors import InvalidInput
from tests.builders import a_platform
from tests.sql.databases import SqlDatabase


def test_creating_an_engine_connects_to_nothing(tmp_path: Path):
    connects: list[object] = []
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'lazy.db'}")
    event.listen(engine, "connect", lambda *args: connects.append(args))
    try:
        assert connects == []
        assert not (tmp_path / "lazy.db").exists()
    finally:
        engine.dispose()


def test_the_pool_is_sized_as_configured_and_pre_pinged(sql_database: SqlDatabase):
    settings = SqlEngineSettings(
        pool_size=3, max_overflow=2, pool_recycle_s=60, timeouts=DatabaseTimeouts(pool_checkout_s=1.5)
    )
    engine = create_sql_engine(sql_database.url, settings)
    try:
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.size() == 3
        assert pool._max_overflow == 2
        assert pool._timeout == 1.5
        assert pool._recycle == 60
        assert pool._pre_ping
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_and_wait_for_the_write_lock(sqlite_database: SqlDatabase):
    with sqlite_database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == 5000
        assert connection.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL


def test_sqlite_write_transactions_begin_immediate_and_reads_deferred(sqlite_database: SqlDatabase):
    from platform_sessions.adapters.sqlalchemy import SqlAlchemyPlatformDirectory

    begins: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    event.listen(sqlite_database.engine, "before_cursor_execute", record)
    try:
        with SqlAlchemyUnitOfWork(sqlite_database.sessions, sqlite_database.tables) as uow:
            uow.platforms.add(a_platform())
            uow.commit()
        SqlAlchemyPlatformDirectory(sqlite_database.sessions, sqlite_database.tables).get("alice", "p")
    finally:
        event.remove(sqlite_database.engine, "before_cursor_execute", record)
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]


def test_sqlite_reads_run_inside_the_transaction(sqlite_database: SqlDatabase):
    # The sqlite3 driver alone would run a SELECT before the first write outside any
    # transaction; ours begins first, so a unit of work reads and writes one snapshot.
    with sqlite_database.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        assert connection.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]


@pytest.mark.parametrize("settings", [{"pool_size": 0}, {"max_overflow": -1}, {"timeouts": 3.0}])
def test_nonsensical_settings_are_refused(settings: dict[str, object]):
    with pytest.raises(InvalidInput):
        SqlEngineSettings(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "timeouts",
    [
        {"statement_s": 0},
        {"statement_s": float("inf")},
        {"connect_s": 1},
        {"pool_checkout_s": 0},
        {"sqlite_busy_s": -5},
    ],
)
def test_nonsensical_timeouts_are_refused(timeouts: dict[str, float]):
    with pytest.raises(InvalidInput):
        DatabaseTimeouts(**timeouts)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"])
def test_in_memory_sqlite_is_refused(url: str):
    with pytest.raises(InvalidInput, match="in-memory"):
        create_sql_engine(url)
