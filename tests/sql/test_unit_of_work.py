"""The unit of work on both databases: rolled back unless committed, and always closed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import attrs
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from platform_sessions.adapters.sqlalchemy import (
    DatabaseTimeouts,
    SqlAlchemyPlatformConnectionRepository,
    SqlAlchemyPlatformDirectory,
    SqlAlchemyUnitOfWork,
    SqlAlchemyUserSessionRepository,
    SqlEngineSettings,
    create_sql_engine,
    database_session_factory,
    sql_tables,
)
from platform_sessions.domain.errors import ConcurrentUpdate, StoreUnavailable
from tests.builders import a_platform, a_session
from tests.contracts.unit_of_work import WHEN
from tests.sql.databases import SqlDatabase
from tests.support.ports import free_loopback_port


class Boom(Exception):
    pass


@dataclass
class PoolTraffic:
    checkouts: int = 0
    checkins: int = 0

    @property
    def outstanding(self) -> int:
        return self.checkouts - self.checkins


@contextmanager
def pool_traffic(engine: Engine) -> Iterator[PoolTraffic]:
    """Counts connections taken from and given back to ``engine``'s pool meanwhile."""
    traffic = PoolTraffic()

    def on_checkout(*_: object) -> None:
        traffic.checkouts += 1

    def on_checkin(*_: object) -> None:
        traffic.checkins += 1

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)
    try:
        yield traffic
    finally:
        event.remove(engine, "checkout", on_checkout)
        event.remove(engine, "checkin", on_checkin)


def uow(database: SqlDatabase) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(database.sessions, database.tables)


def stored(database: SqlDatabase, platform_id: str):  # type: ignore[no-untyped-def]
    with uow(database) as reader:
        return reader.platforms.get(platform_id)


def test_work_left_without_commit_is_rolled_back_and_the_connection_returned(sql_database: SqlDatabase):
    platform = a_platform()
    with pool_traffic(sql_database.engine) as traffic:
        with uow(sql_database) as work:
            work.platforms.add(platform)
            assert traffic.outstanding == 1  # one connection for the whole unit of work
        assert traffic.checkouts == 1
        assert traffic.outstanding == 0
    assert stored(sql_database, platform.id) is None


def test_an_error_rolls_back_and_the_connection_is_returned(sql_database: SqlDatabase):
    platform = a_platform()
    with pool_traffic(sql_database.engine) as traffic:
        with pytest.raises(Boom), uow(sql_database) as work:
            work.platforms.add(platform)
            raise Boom
        assert traffic.checkouts == 1
        assert traffic.outstanding == 0
    assert stored(sql_database, platform.id) is None


def test_a_commit_keeps_the_work_and_returns_the_connection(sql_database: SqlDatabase):
    platform = a_platform()
    with pool_traffic(sql_database.engine) as traffic:
        with uow(sql_database) as work:
            work.platforms.add(platform)
            work.commit()
        assert traffic.outstanding == 0
    assert stored(sql_database, platform.id) == platform


def test_a_refused_commit_is_a_conflict_and_the_connection_is_returned(sql_database: SqlDatabase):
    with uow(sql_database) as work:
        work.platforms.add(a_platform(is_default=True))
        work.commit()
    late = a_platform()
    with pool_traffic(sql_database.engine) as traffic:
        with pytest.raises(ConcurrentUpdate), uow(sql_database) as work:
            work.platforms.add(late)
            work.platforms.add(a_platform(is_default=True))  # the index refuses a second default
            work.commit()
        assert traffic.outstanding == 0
    assert stored(sql_database, late.id) is None  # the whole unit of work went


def test_a_unit_of_work_that_never_touches_the_database_takes_no_connection(sql_database: SqlDatabase):
    with pool_traffic(sql_database.engine) as traffic:
        with uow(sql_database) as work:
            work.commit()
        assert traffic.checkouts == 0


def test_a_closed_unit_of_work_cannot_be_used_again(sql_database: SqlDatabase):
    work = uow(sql_database)
    with work:
        pass
    with pytest.raises(RuntimeError), work:
        pass


def test_two_units_of_work_see_only_committed_data(sql_database: SqlDatabase):
    platform = a_platform()
    with uow(sql_database) as writer:
        writer.platforms.add(platform)
        if sql_database.kind == "postgresql":  # SQLite has one writer; it would wait for us
            with uow(sql_database) as reader:
                assert reader.platforms.get(platform.id) is None
        writer.commit()
    assert stored(sql_database, platform.id) == platform


def test_updates_replace_fields_but_keep_a_concurrent_last_used_stamp(sql_database: SqlDatabase):
    platform = a_platform()
    with uow(sql_database) as work:
        work.platforms.add(platform)
        work.commit()
    with uow(sql_database) as work:
        work.platforms.stamp_last_used(platform.id, WHEN)
        work.commit()
    with uow(sql_database) as work:
        work.platforms.update(attrs.evolve(platform, name="Renamed"))
        work.commit()
    after = stored(sql_database, platform.id)
    assert after is not None
    assert after.name == "Renamed"
    assert after.last_used_at == WHEN


# what adapters joining a unit of work rely on


def test_it_shares_only_the_sessionmaker_it_was_built_on(sql_database: SqlDatabase):
    work = uow(sql_database)
    assert work.shares(sql_database.sessions)
    assert not work.shares(database_session_factory(sql_database.engine))


def test_the_database_session_is_the_open_transactions_and_joined_statements_commit_with_it(
    sql_database: SqlDatabase,
):
    platform = a_platform()
    with uow(sql_database) as work:
        work.platforms.add(platform)
        joined = SqlAlchemyPlatformConnectionRepository(work.database_session, sql_database.tables)
        assert joined.get(platform.id) == platform  # the same uncommitted transaction
    assert stored(sql_database, platform.id) is None
    with pytest.raises(RuntimeError):
        _ = uow(sql_database).database_session  # outside its block


def test_commit_callbacks_run_in_order_after_the_commit_and_a_failing_one_is_only_logged(
    sql_database: SqlDatabase, caplog
):
    platform = a_platform()
    ran: list[object] = []

    def failing() -> None:
        raise Boom

    with uow(sql_database) as work:
        work.platforms.add(platform)
        work.on_commit(lambda: ran.append(stored(sql_database, platform.id)))  # sees the commit
        work.on_commit(failing)
        work.on_commit(lambda: ran.append("last"))
        work.on_rollback(lambda: ran.append("rolled back"))
        assert ran == []
        work.commit()
    assert ran == [platform, "last"]
    assert "a callback after commit of a unit of work failed" in caplog.text


def test_a_rollback_runs_its_callbacks_and_drops_the_commit_callbacks(sql_database: SqlDatabase):
    ran: list[str] = []
    with uow(sql_database) as work:
        work.platforms.add(a_platform())
        work.on_commit(lambda: ran.append("committed"))
        work.on_rollback(lambda: ran.append("rolled back"))
    assert ran == ["rolled back"]
    with pytest.raises(Boom), uow(sql_database) as work:
        work.on_rollback(lambda: ran.append("rolled back after an error"))
        raise Boom
    assert ran == ["rolled back", "rolled back after an error"]


def test_a_failed_commit_runs_the_rollback_callbacks_not_the_commit_ones(
    sql_database: SqlDatabase, monkeypatch
):
    ran: list[str] = []

    def lost_connection() -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    with pytest.raises(StoreUnavailable), uow(sql_database) as work:
        work.platforms.add(a_platform())
        work.on_commit(lambda: ran.append("committed"))
        work.on_rollback(lambda: ran.append("rolled back"))
        monkeypatch.setattr(work.database_session, "commit", lost_connection)
        work.commit()
    assert ran == ["rolled back"]


@pytest.fixture
def unreachable_database() -> Iterator[SqlDatabase]:
    """PostgreSQL URL on a loopback port nothing listens on: every connection is refused."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_loopback_port()}/test"
    engine = create_sql_engine(url, SqlEngineSettings(timeouts=DatabaseTimeouts(connect_s=2)))
    try:
        yield SqlDatabase("postgresql", url, engine, sql_tables("down_"), database_session_factory(engine))
    finally:
        engine.dispose()


def test_an_unreachable_database_is_unavailable_not_empty(unreachable_database: SqlDatabase, policy, clock):
    database = unreachable_database
    with pytest.raises(StoreUnavailable, match="could not read a platform connection"), uow(database) as work:
        work.platforms.get("p1")
    with pytest.raises(StoreUnavailable):
        SqlAlchemyPlatformDirectory(database.sessions, database.tables).get("alice", "p1")
    sessions = SqlAlchemyUserSessionRepository(database.sessions, database.tables, policy)
    session = a_session(now=clock.now(), policy=policy)
    with pytest.raises(StoreUnavailable, match="could not read a session"):
        sessions.get(session.token_digest)
    with pytest.raises(StoreUnavailable):
        sessions.create(session, max_sessions=3)


def test_an_exhausted_pool_is_unavailable_after_the_pool_timeout(sqlite_database: SqlDatabase, policy, clock):
    engine = create_sql_engine(
        sqlite_database.url,
        SqlEngineSettings(pool_size=1, max_overflow=0, timeouts=DatabaseTimeouts(pool_checkout_s=0.2)),
    )
    try:
        sessions = SqlAlchemyUserSessionRepository(
            database_session_factory(engine), sqlite_database.tables, policy
        )
        held = engine.connect()  # the only connection, held elsewhere
        try:
            with pytest.raises(StoreUnavailable, match="no pooled connection was free"):
                sessions.get(a_session(now=clock.now(), policy=policy).token_digest)
        finally:
            held.close()
        assert sessions.get(a_session(now=clock.now(), policy=policy).token_digest) is None
    finally:
        engine.dispose()


def test_a_sqlite_write_lock_held_past_the_busy_timeout_is_unavailable(sqlite_database: SqlDatabase):
    impatient = create_sql_engine(
        sqlite_database.url, SqlEngineSettings(timeouts=DatabaseTimeouts(sqlite_busy_s=0.1))
    )
    try:
        with sqlite_database.engine.begin() as holder:  # BEGIN IMMEDIATE: holds the write lock
            holder.exec_driver_sql("SELECT 1")
            with (
                pytest.raises(StoreUnavailable, match="database is locked"),
                SqlAlchemyUnitOfWork(database_session_factory(impatient), sqlite_database.tables) as work,
            ):
                work.platforms.add(a_platform())
    finally:
        impatient.dispose()


def test_missing_tables_say_how_to_create_them(sql_database: SqlDatabase, policy, clock):
    never_migrated = sql_tables("never_migrated_")
    sessions = SqlAlchemyUserSessionRepository(sql_database.sessions, never_migrated, policy)
    with pytest.raises(StoreUnavailable, match="upgrade_database"):
        sessions.get(a_session(now=clock.now(), policy=policy).token_digest)
