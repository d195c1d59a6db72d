"""Bad configuration is caught while starting, or reported by health(): each misconfiguration of
issue 13 against real servers (private redis-servers, a replica, a TCP listener that is not
Redis, the PostgreSQL test database), and the CLI in its own OS process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from sqlalchemy.engine import make_url

from platform_sessions.adapters.redis import RedisOptions
from platform_sessions.adapters.sqlalchemy import (
    create_sql_engine,
    sql_tables,
    upgrade_database,
    upgrade_schema,
)
from platform_sessions.domain.errors import MisconfiguredStore
from platform_sessions.entrypoints import bootstrap
from tests.sql.databases import drop_tables, unique_prefix
from tests.support.redis_process import PrivateRedisServer, RedisServerFactory

KEY = "configuration-checks-routing-key-0001"
OTHER_KEY = "configuration-checks-routing-key-0002"
FAST = RedisOptions(connect_timeout=0.5, read_timeout=0.5, near_cache_size=0)
CLI = [sys.executable, "-m", "platform_sessions.entrypoints.cli"]


@pytest.fixture
def redis_server(redis_server_factory: RedisServerFactory) -> PrivateRedisServer:
    return redis_server_factory()


@pytest.fixture
def prefix(postgres_url: str) -> Iterator[str]:
    """A table prefix of this test's own in the PostgreSQL test schema, migrated; dropped after."""
    chosen = unique_prefix()
    upgrade_database(postgres_url, table_prefix=chosen)
    yield chosen
    engine = create_sql_engine(postgres_url)
    try:
        drop_tables(engine, sql_tables(chosen))
    finally:
        engine.dispose()


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    """The command line in its own OS process, with no storage variables of the test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_SESSIONS_")}
    return subprocess.run([*CLI, *argv], capture_output=True, text=True, env=env, timeout=60, check=False)


# --- routing keys -------------------------------------------------------------------------


def test_a_process_with_another_routing_key_refuses_to_start_on_the_redis_storage(redis_server):
    with bootstrap(redis_url=redis_server.url, routing_key=KEY, redis_options=FAST) as first:
        for _ in range(4):
            first.start_session("alice")
        # Another OS process, as an operator would run it: "log out everywhere" with another key
        # once ended 0 of 4 sessions and reported success.
        ran = cli("--redis-url", redis_server.url, "--routing-key", OTHER_KEY, "sessions", "end-all", "alice")
        assert ran.returncode == 1
        assert "MisconfiguredStore: routing key mismatch" in ran.stderr
        assert "Traceback" not in ran.stderr
        assert len(first.list_sessions("alice")) == 4  # nothing was touched
        ran = cli("--redis-url", redis_server.url, "--routing-key", KEY, "sessions", "end-all", "alice")
        assert (ran.returncode, ran.stdout) == (0, "ended 4 sessions of user 'alice'\n"), ran.stderr
    with pytest.raises(MisconfiguredStore, match="routing key mismatch"):
        bootstrap(redis_url=redis_server.url, routing_key=OTHER_KEY, redis_options=FAST)


def test_health_names_a_routing_key_mismatch_that_appears_after_startup(redis_server):
    with bootstrap(redis_url=redis_server.url, routing_key=KEY, redis_options=FAST) as first:
        assert first.health().healthy
        with redis.Redis.from_url(redis_server.url) as client:
            client.flushall()  # Redis lost its data; a process with another key came first
        bootstrap(redis_url=redis_server.url, routing_key=OTHER_KEY, redis_options=FAST).close()
        report = first.health()
    assert not report.healthy
    assert any("routing key mismatch" in problem for problem in report.problems), report.problems


def test_the_database_keeps_the_fingerprint_through_a_redis_restart(redis_server, postgres_url, prefix):
    stores = {"redis_url": redis_server.url, "database_url": postgres_url, "table_prefix": prefix}
    bootstrap(**stores, routing_key=KEY, redis_options=FAST).close()
    redis_server.restart()  # empty: Redis forgot the fingerprint, the database did not
    with pytest.raises(
        MisconfiguredStore, match=f"routing key mismatch: the data at .*table {prefix}deployment"
    ):
        bootstrap(**stores, routing_key=OTHER_KEY, redis_options=FAST)
    bootstrap(**stores, routing_key=KEY, redis_options=FAST).close()


# --- read-only stores ---------------------------------------------------------------------


def test_a_redis_replica_is_refused_by_every_redis_storage(redis_server_factory, postgres_url, prefix):
    primary = redis_server_factory()
    replica = redis_server_factory("--replicaof", primary.host, str(primary.port))
    with pytest.raises(MisconfiguredStore, match="read-only slave"):
        bootstrap(redis_url=replica.url, routing_key=KEY, redis_options=FAST)
    with pytest.raises(MisconfiguredStore, match="read-only slave"):
        bootstrap(
            redis_url=replica.url,
            database_url=postgres_url,
            table_prefix=prefix,
            routing_key=KEY,
            redis_options=FAST,
        )
    bootstrap(redis_url=primary.url, routing_key=KEY, redis_options=FAST).close()


def _read_only(postgres_url: str) -> str:
    url = make_url(postgres_url)
    options = f"{url.query.get('options', '')} -cdefault_transaction_read_only=on".strip()
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


def test_a_read_only_database_is_refused_by_the_sql_and_two_tier_storages(redis_server, postgres_url, prefix):
    read_only = _read_only(postgres_url)
    with pytest.raises(MisconfiguredStore, match="read-only for this connection"):
        bootstrap(database_url=read_only, table_prefix=prefix, routing_key=KEY)
    with pytest.raises(MisconfiguredStore, match="read-only for this connection"):
        bootstrap(
            redis_url=redis_server.url,
            database_url=read_only,
            table_prefix=prefix,
            routing_key=KEY,
            redis_options=FAST,
        )
    ran = cli("--database-url", read_only, "--table-prefix", prefix, "health")
    assert ran.returncode == 1
    assert "read-only" in ran.stderr


# --- endpoints that are not Redis ---------------------------------------------------------


@contextmanager
def tcp_listener(reply: bytes | None) -> Iterator[str]:
    """A loopback listener that is not Redis: it reads what a connection sends, answers with
    ``reply`` and closes it (``None``: closes without a word, as PostgreSQL does with a Redis
    command)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                # Read the command first, as PostgreSQL reads a startup packet: closing with
                # unread data would reset the connection instead of closing it.
                connection.settimeout(2)
                try:
                    connection.recv(4096)
                except OSError:
                    continue
                if reply is not None:
                    connection.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_an_endpoint_speaking_another_protocol_is_refused(postgres_url, prefix):
    with tcp_listener(b"SSH-2.0-OpenSSH_9.6\r\n") as url:
        with pytest.raises(MisconfiguredStore, match="is not a Redis server"):
            bootstrap(redis_url=url, routing_key=KEY, redis_options=FAST)
        with pytest.raises(MisconfiguredStore, match="is not a Redis server"):
            bootstrap(
                redis_url=url,
                database_url=postgres_url,
                table_prefix=prefix,
                routing_key=KEY,
                redis_options=FAST,
            )


def test_two_tier_on_an_endpoint_that_closes_without_a_reply_is_unhealthy(postgres_url, prefix):
    # Once healthy=True while every request ran on the database alone, silently.
    with (
        tcp_listener(None) as url,
        bootstrap(
            redis_url=url, database_url=postgres_url, table_prefix=prefix, routing_key=KEY, redis_options=FAST
        ) as sessions,
    ):
        started = sessions.start_session("alice")  # the database answers alone, as designed
        assert sessions.resolve(started.token.value).session.user_id == "alice"
        report = sessions.health()
    assert report.database_reachable is True
    assert report.healthy is False
    assert any("closed it without a reply" in problem for problem in report.problems), report.problems


def test_two_tier_with_redis_down_is_unhealthy_and_names_it(redis_server, postgres_url, prefix):
    with bootstrap(
        redis_url=redis_server.url,
        database_url=postgres_url,
        table_prefix=prefix,
        routing_key=KEY,
        redis_options=FAST,
    ) as sessions:
        assert sessions.health().healthy
        redis_server.kill()
        report = sessions.health()
    assert (report.healthy, report.redis_reachable, report.database_reachable) == (False, False, True)
    assert any(f"Redis at {redis_server.url} is unreachable" in p for p in report.problems), report.problems


# --- schema -------------------------------------------------------------------------------


def test_the_sql_storage_on_missing_tables_is_unhealthy_until_migrated(postgres_url):
    fresh = unique_prefix()
    try:
        with bootstrap(database_url=postgres_url, table_prefix=fresh, routing_key=KEY) as sessions:
            report = sessions.health()
            assert (report.healthy, report.database_reachable) == (False, True)  # it answers: SELECT 1
            assert any("tables are missing" in problem for problem in report.problems), report.problems
            upgrade_database(postgres_url, table_prefix=fresh)
            assert sessions.health().healthy
    finally:
        engine = create_sql_engine(postgres_url)
        drop_tables(engine, sql_tables(fresh))
        engine.dispose()


def test_a_schema_behind_this_version_is_unhealthy_naming_both_revisions(postgres_url):
    fresh = unique_prefix()
    engine = create_sql_engine(postgres_url)
    try:
        upgrade_schema(engine, table_prefix=fresh, revision="0002")
        with bootstrap(database_url=postgres_url, table_prefix=fresh, routing_key=KEY) as sessions:
            report = sessions.health()
        assert not report.healthy
        assert any("at revision 0002, this version needs 0004" in p for p in report.problems), report.problems
        ran = cli("--database-url", postgres_url, "--table-prefix", fresh, "health")
        assert ran.returncode == 1
        assert "problem: StoreUnavailable:" in ran.stdout
    finally:
        drop_tables(engine, sql_tables(fresh))
        engine.dispose()


def test_startup_does_not_fail_on_a_store_that_is_down(redis_server, postgres_url, prefix):
    redis_server.kill()  # stores start in any order: the process starts, and says so in health()
    with bootstrap(
        redis_url=redis_server.url,
        database_url=postgres_url,
        table_prefix=prefix,
        routing_key=KEY,
        redis_options=FAST,
    ) as sessions:
        started = sessions.start_session("alice")
        assert sessions.resolve(started.token.value).session.user_id == "alice"
        assert not sessions.health().healthy
