"""Self-tests for tests.support.tcp_proxy against the real PostgreSQL: each fault as promised."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.support import settings
from tests.support.tcp_proxy import TcpProxy

pytest_plugins = ["tests.support.services"]

pytestmark = pytest.mark.services

HELD_S = 0.5


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    with TcpProxy(settings.LOOPBACK, settings.postgres_port()) as owned:
        yield owned


def _connect(proxy: TcpProxy, schema: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=proxy.host,
        port=proxy.port,
        user=settings.POSTGRES_USER,
        dbname=settings.postgres_database(),
        connect_timeout=3,
        options=f"-csearch_path={schema}",
    )


def test_forwards_queries(proxy: TcpProxy, postgres_schema: str) -> None:
    with _connect(proxy, postgres_schema) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)
    assert proxy.connections_accepted == 1


def test_pause_holds_a_query_until_resumed(proxy: TcpProxy, postgres_schema: str) -> None:
    with _connect(proxy, postgres_schema) as connection:
        proxy.pause()
        threading.Timer(HELD_S, proxy.resume).start()
        started = time.monotonic()
        assert connection.execute("SELECT 2").fetchone() == (2,)
        assert time.monotonic() - started >= HELD_S * 0.9


def test_cut_resets_open_connections_and_refuses_new_ones(proxy: TcpProxy, postgres_schema: str) -> None:
    connection = _connect(proxy, postgres_schema)
    try:
        proxy.cut(refuse_new=True)
        with pytest.raises(psycopg.OperationalError):
            connection.execute("SELECT 3")
        with pytest.raises(psycopg.OperationalError):
            _connect(proxy, postgres_schema)
    finally:
        connection.close()
    proxy.restore()
    with _connect(proxy, postgres_schema) as connection:
        assert connection.execute("SELECT 4").fetchone() == (4,)


def test_a_dropped_commit_reply_still_commits(proxy: TcpProxy, postgres_schema: str) -> None:
    with _connect(proxy, postgres_schema) as connection:
        connection.execute("CREATE TABLE dropped_reply (value int)")
        connection.commit()
    connection = _connect(proxy, postgres_schema)
    try:
        connection.execute("INSERT INTO dropped_reply VALUES (7)")
        proxy.drop_reply_after(b"COMMIT")
        with pytest.raises(psycopg.OperationalError):
            connection.commit()
    finally:
        connection.close()
    assert proxy.replies_dropped == 1
    with _connect(proxy, postgres_schema) as connection:
        assert connection.execute("SELECT value FROM dropped_reply").fetchall() == [(7,)]
