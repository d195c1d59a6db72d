"""A hung database yields StoreUnavailable within the configured bound, never a hung request.

PostgreSQL is reached through a TCP proxy the test owns (tests/support/tcp_proxy.py), so the
shared server itself is never paused. The pool is warmed before each fault: the bound must
hold on a pooled connection, where no connect timeout applies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from platform_sessions.adapters.sqlalchemy import (
    DatabaseTimeouts,
    SqlAlchemyUnitOfWork,
    SqlEngineSettings,
    create_sql_engine,
    database_session_factory,
    sql_tables,
    translated_errors,
)
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.entrypoints import PlatformSessions, bootstrap
from tests.sql.databases import drop_tables, unique_prefix
from tests.support import settings
from tests.support.postgres import PostgresServer
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.services

ROUTING_KEY = "routing-key-for-the-timeout-tests-0123456789"
TIMEOUTS = DatabaseTimeouts(statement_s=1.0, connect_s=2, pool_checkout_s=1.0)
BOUND_S = TIMEOUTS.statement_s + TIMEOUTS.connect_s  # type: ignore[operator]
# Scheduling slack on a shared 2-core machine; the bound itself is what is asserted.
SLACK_S = 0.75
# A failing test must not hang the suite: the proxy resumes on its own after this.
SAFETY_RESUME_S = 15.0


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    with TcpProxy(settings.LOOPBACK, settings.postgres_port()) as owned:
        yield owned


@pytest.fixture
def proxied_url(proxy: TcpProxy, postgres_schema: str) -> str:
    return PostgresServer(port=proxy.port).sqlalchemy_url(search_path=postgres_schema)


@pytest.fixture
def facade(proxied_url: str, postgres_url: str) -> Iterator[PlatformSessions]:
    prefix = unique_prefix()
    sessions = bootstrap(
        database_url=proxied_url,
        table_prefix=prefix,
        migrate=True,
        routing_key=ROUTING_KEY,
        sql_engine=SqlEngineSettings(pool_size=2, max_overflow=0, timeouts=TIMEOUTS),
    )
    try:
        yield sessions
    finally:
        sessions.close()
        direct = create_sql_engine(postgres_url)  # not through the proxy, which may be paused
        try:
            drop_tables(direct, sql_tables(prefix))
        finally:
            direct.dispose()


@pytest.fixture
def paused(proxy: TcpProxy) -> Iterator[TcpProxy]:
    """The proxy, to be paused by the test; resumed afterwards (or on its own, if a test hangs)."""
    timer = threading.Timer(SAFETY_RESUME_S, proxy.resume)
    timer.daemon = True
    timer.start()
    try:
        yield proxy
    finally:
        timer.cancel()
        proxy.resume()


def timed(call: object) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        call()  # type: ignore[operator]
    except BaseException as error:
        return time.monotonic() - started, error
    return time.monotonic() - started, None


def test_a_switch_on_a_pooled_connection_fails_within_the_bound_when_postgres_pauses(
    facade: PlatformSessions, paused: TcpProxy
):
    first = facade.connect_platform(
        "alice", name="A", platform_type="mastodon", instance_url="https://a.example", username="a"
    )
    second = facade.connect_platform(
        "alice", name="B", platform_type="mastodon", instance_url="https://b.example", username="b"
    )
    started = facade.start_session("alice", platform_id=first.id)
    token = str(started.token)
    facade.switch_platform(token, second.id)  # the pool is warm: every later call checks out
    facade.switch_platform(token, first.id)

    paused.pause()
    elapsed, error = timed(lambda: facade.switch_platform(token, second.id))

    assert isinstance(error, StoreUnavailable), error
    assert elapsed < BOUND_S + SLACK_S, f"StoreUnavailable after {elapsed:.2f} s, bound {BOUND_S} s"
    paused.resume()
    # The connections that timed out were closed, not handed back to the pool broken: the
    # next request works at once.
    assert facade.switch_platform(token, second.id).changed
    assert facade.resolve(token).platform_id == second.id


def test_a_statement_inside_an_open_transaction_is_bounded(proxied_url: str, paused: TcpProxy):
    engine = create_sql_engine(proxied_url, SqlEngineSettings(pool_size=1, max_overflow=0, timeouts=TIMEOUTS))
    try:
        sessions = database_session_factory(engine)
        with sessions() as warm:
            warm.execute(text("SELECT 1"))
        with sessions() as database_session:
            database_session.execute(text("SELECT 1"))  # checked out, transaction open
            paused.pause()
            with translated_errors("read"):
                elapsed, error = timed(lambda: database_session.execute(text("SELECT 2")))
        assert isinstance(error, Exception)
        assert "did not answer within 1 s" in str(error)
        assert TIMEOUTS.statement_s * 0.9 <= elapsed < TIMEOUTS.statement_s + SLACK_S  # type: ignore[operator]
        paused.resume()
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        with sessions() as again:
            assert again.execute(text("SELECT 3")).scalar_one() == 3
    finally:
        engine.dispose()


def test_a_hung_commit_is_bounded_and_unavailable(proxied_url: str, paused: TcpProxy):
    engine = create_sql_engine(proxied_url, SqlEngineSettings(pool_size=1, max_overflow=0, timeouts=TIMEOUTS))
    try:
        tables = sql_tables(unique_prefix())
        with (
            pytest.raises(StoreUnavailable),
            SqlAlchemyUnitOfWork(database_session_factory(engine), tables) as uow,
        ):
            uow.database_session.execute(text("SELECT 1"))
            paused.pause()
            started = time.monotonic()
            try:
                uow.commit()
            finally:
                elapsed = time.monotonic() - started
        assert elapsed < TIMEOUTS.statement_s + SLACK_S  # type: ignore[operator]
    finally:
        engine.dispose()


def test_a_slow_statement_on_a_live_server_is_cancelled_by_the_server_and_keeps_its_connection(
    proxied_url: str,
):
    engine = create_sql_engine(proxied_url, SqlEngineSettings(pool_size=1, max_overflow=0, timeouts=TIMEOUTS))
    try:
        sessions = database_session_factory(engine)
        with sessions() as database_session:
            backend = database_session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with pytest.raises(StoreUnavailable, match="QueryCanceled"), translated_errors("sleep"):
                database_session.execute(text("SELECT pg_sleep(5)"))
        with sessions() as database_session:
            # The same connection, back from the pool: the server's cancel left it usable.
            assert database_session.execute(text("SELECT pg_backend_pid()")).scalar_one() == backend
    finally:
        engine.dispose()


def test_the_server_side_settings_reach_the_connection(proxied_url: str):
    engine = create_sql_engine(proxied_url, SqlEngineSettings(timeouts=TIMEOUTS))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "900ms"
            assert connection.execute(text("SHOW search_path")).scalar_one().startswith("ps_test_")
            dbapi = connection.connection.dbapi_connection
            assert dbapi.info.get_parameters()["tcp_user_timeout"] == "1000"  # type: ignore[union-attr]
            assert dbapi.info.get_parameters()["keepalives"] == "1"  # type: ignore[union-attr]
    finally:
        engine.dispose()


def test_migrations_lift_the_statement_bound_for_their_own_transaction(proxied_url: str):
    from platform_sessions.adapters.sqlalchemy.migrate import upgrade_schema
    from platform_sessions.adapters.sqlalchemy.postgres_connections import unbounded

    engine = create_sql_engine(proxied_url, SqlEngineSettings(pool_size=1, max_overflow=0, timeouts=TIMEOUTS))
    prefix = unique_prefix()
    try:
        upgrade_schema(engine, table_prefix=prefix)  # under the bound: lifted inside
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            with unbounded(connection.connection.dbapi_connection):
                # Longer than statement_s, on both sides: what a migration's DDL may need.
                connection.execute(text("SELECT pg_sleep(1.3)"))
        with engine.connect() as connection:  # and the bound is back afterwards
            assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "900ms"
    finally:
        drop_tables(engine, sql_tables(prefix))
        engine.dispose()
