"""pytest plugin: fixtures for the real servers platform-sessions is tested against.

Load it from ``tests/conftest.py``::

    pytest_plugins = ["tests.support.services"]

A fixture whose server is absent calls `unavailable`: the test is skipped, or fails when
PLATFORM_SESSIONS_REQUIRE_SERVICES=1 (as in CI). Everything runs on 127.0.0.1 only.

The suite owns the data it touches:
  redis_url / clean_redis_url        a private redis-server for the whole run (needs
                                     `redis-server` on PATH); only when PLATFORM_SESSIONS_TEST_REDIS_DB
                                     or _PORT is set, that database of the Redis already running
                                     at 127.0.0.1 (default port 6379), which is then emptied
  postgres_url / postgres_schema     PostgreSQL at 127.0.0.1:5432 (user postgres): a database
                                     created for the run and dropped after it, a schema in it
Private servers (started by the fixtures, needing `redis-server` on PATH):
  redis_server_factory               throwaway servers to kill, freeze and restart
  redis_cluster_nodes / clean_...    a 3-master Redis Cluster for the whole session
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.support import settings
from tests.support.policy import REQUIRE_SERVICES_ENV, services_required, unavailable
from tests.support.postgres import (
    PostgresServer,
    create_database,
    create_schema,
    drop_database,
    maintenance_server,
    new_database_name,
    new_schema_name,
    unreachable_reason,
)
from tests.support.redis_clients import ping_error, probe_client
from tests.support.redis_cluster import start_cluster
from tests.support.redis_process import (
    REDIS_SERVER_EXECUTABLE,
    PrivateRedisServer,
    RedisServerFactory,
    find_redis_server,
    stop_servers,
)

__all__ = [
    "REQUIRE_SERVICES_ENV",
    "PrivateRedisServer",
    "RedisServerFactory",
    "clean_redis_cluster_nodes",
    "clean_redis_url",
    "postgres_run_database",
    "postgres_schema",
    "postgres_url",
    "redis_cluster_nodes",
    "redis_server_factory",
    "redis_url",
    "services_required",
    "unavailable",
]

# FLUSHDB / FLUSHALL of a big leftover database can take longer than a PING.
HOUSEKEEPING_TIMEOUT_S = 10.0
REDIS_START_HINT = "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"
POSTGRES_START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


# --- the run's Redis ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the Redis the run's Redis tests share: a private server, or the one the environment names.

    A private redis-server (free loopback port, nothing on disk) runs for the whole session, so
    the suite never empties a database it did not create. Only when PLATFORM_SESSIONS_TEST_REDIS_DB
    or _PORT is set does it use that database of a server already running (checked with PING).
    """
    if not settings.shared_redis_requested():
        executable = find_redis_server()
        if executable is None:
            unavailable(
                f"{REDIS_SERVER_EXECUTABLE} is not on PATH (install the redis-server package), and "
                f"{settings.REDIS_DB_ENV} is not set to name a database of a running Redis instead"
            )
        factory = RedisServerFactory(executable, lambda: tmp_path_factory.mktemp("redis-server"))
        try:
            yield factory().url
        finally:
            factory.stop_all()
        return
    host, port, db = settings.LOOPBACK, settings.redis_port(), settings.redis_db()
    error = ping_error(host, port, db)
    if error is not None:
        unavailable(
            f"Redis is not reachable at {host}:{port} db {db} ({error}); start it with: {REDIS_START_HINT}"
        )
    yield f"redis://{host}:{port}/{db}"


@pytest.fixture
def clean_redis_url(redis_url: str) -> Iterator[str]:
    """`redis_url`, with its database emptied before and after the test."""
    _flush_database(redis_url)
    yield redis_url
    _flush_database(redis_url)


def _flush_database(url: str) -> None:
    timeout = HOUSEKEEPING_TIMEOUT_S
    with redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout) as client:
        client.flushdb()


# --- private Redis servers ----------------------------------------------------------------


def _require_redis_server() -> str:
    executable = find_redis_server()
    if executable is None:
        unavailable(f"{REDIS_SERVER_EXECUTABLE} is not on PATH (install the redis-server package)")
    return executable


@pytest.fixture
def redis_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisServerFactory]:
    """Call it to start a private, empty redis-server on a free loopback port.

    ``server = redis_server_factory()`` gives a `PrivateRedisServer` with ``.host``,
    ``.port``, ``.url``, ``.kill()``, ``.restart()``, ``.freeze()``, ``.thaw()``, ``.stop()``;
    extra arguments go to redis-server. Every server is stopped at teardown, frozen or not.
    """
    factory = RedisServerFactory(_require_redis_server(), lambda: tmp_path_factory.mktemp("redis-server"))
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="session")
def redis_cluster_nodes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[tuple[str, int]]]:
    """(host, port) of each master of a private 3-master Redis Cluster, healthy on arrival."""
    executable = _require_redis_server()
    nodes = start_cluster(executable, lambda: tmp_path_factory.mktemp("redis-cluster-node"))
    try:
        yield [(node.host, node.port) for node in nodes]
    finally:
        stop_servers(nodes)


@pytest.fixture
def clean_redis_cluster_nodes(
    redis_cluster_nodes: list[tuple[str, int]],
) -> Iterator[list[tuple[str, int]]]:
    """`redis_cluster_nodes`, with every master emptied before and after the test."""
    _flush_cluster(redis_cluster_nodes)
    yield redis_cluster_nodes
    _flush_cluster(redis_cluster_nodes)


def _flush_cluster(nodes: list[tuple[str, int]]) -> None:
    for host, port in nodes:
        with probe_client(host, port, timeout_s=HOUSEKEEPING_TIMEOUT_S) as client:
            client.flushall()


# --- the run's PostgreSQL database ---------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_run_database() -> Iterator[str]:
    """Name of a database created for this run on the PostgreSQL server, dropped after it.

    Published in PLATFORM_SESSIONS_TEST_POSTGRES_DATABASE for the run, so that
    ``PostgresServer(port=...)`` (here and in worker processes the tests start) selects it.
    """
    admin = maintenance_server(settings.postgres_port())
    error = unreachable_reason(admin)
    if error is not None:
        unavailable(
            f"PostgreSQL is not reachable at {admin.address} ({error}); start it with: {POSTGRES_START_HINT}"
        )
    database = new_database_name()
    create_database(admin, database)
    try:
        with pytest.MonkeyPatch.context() as environment:
            environment.setenv(settings.POSTGRES_DATABASE_ENV, database)
            yield database
    finally:
        drop_database(admin, database)


@pytest.fixture(scope="session")
def postgres_schema(postgres_run_database: str) -> str:
    """Name of a schema made for this run in its own database (which goes with the database)."""
    schema = new_schema_name()
    create_schema(PostgresServer(port=settings.postgres_port(), database=postgres_run_database), schema)
    return schema


@pytest.fixture(scope="session")
def postgres_url(postgres_schema: str) -> str:
    """SQLAlchemy URL (psycopg v3 driver) whose connections use `postgres_schema` as search_path."""
    return PostgresServer(port=settings.postgres_port()).sqlalchemy_url(search_path=postgres_schema)
