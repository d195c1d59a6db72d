"""Self-tests for tests.support.services: every fixture against the real thing it promises."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster
from sqlalchemy import create_engine, make_url, text

from tests.support import settings
from tests.support.policy import REQUIRE_SERVICES_ENV, unavailable
from tests.support.ports import free_loopback_port
from tests.support.postgres import DATABASE_PREFIX, SCHEMA_PREFIX, PostgresServer, maintenance_server
from tests.support.redis_clients import probe_client
from tests.support.redis_cluster import cluster_info
from tests.support.redis_process import (
    PrivateRedisServer,
    RedisServerFactory,
    find_redis_server,
)

# Harmless when tests/conftest.py loads the plugin too: pytest registers a plugin once.
pytest_plugins = ["tests.support.services"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def quick_client(server: PrivateRedisServer, timeout_s: float = 1.0) -> redis.Redis:
    # No retries: a dead or frozen server must fail the call at once, not after backoffs.
    return probe_client(server.host, server.port, timeout_s=timeout_s)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --- policy -------------------------------------------------------------------------------


def test_unavailable_skips_when_services_are_optional(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(REQUIRE_SERVICES_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no server here"):
        unavailable("no server here")


def test_unavailable_fails_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(REQUIRE_SERVICES_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="no server here"):
        unavailable("no server here")


# --- the run's Redis ----------------------------------------------------------------------


def test_redis_url_is_a_private_server_unless_the_environment_names_a_database(redis_url: str) -> None:
    if settings.shared_redis_requested():
        assert redis_url == f"redis://127.0.0.1:{settings.redis_port()}/{settings.redis_db()}"
    else:
        url = urlsplit(redis_url)
        assert (url.hostname, url.path) == ("127.0.0.1", "/0")
        assert url.port != settings.DEFAULT_REDIS_PORT
    with redis.Redis.from_url(redis_url, socket_timeout=1) as client:
        assert client.ping()
        if not settings.shared_redis_requested():
            # nothing on disk: a restart would come back empty, and nothing is written anywhere
            assert client.config_get("save")["save"] == ""
            assert client.config_get("appendonly")["appendonly"] == "no"


@pytest.fixture
def redis_db_must_end_empty(redis_url: str) -> Iterator[None]:
    """Set up before `clean_redis_url` and so torn down after it: sees what it left behind."""
    yield
    with redis.Redis.from_url(redis_url, socket_timeout=1) as client:
        assert client.dbsize() == 0


def test_clean_redis_url_is_empty_before_and_after(
    redis_db_must_end_empty: None, clean_redis_url: str
) -> None:
    with redis.Redis.from_url(clean_redis_url, socket_timeout=1) as client:
        assert client.dbsize() == 0
        client.set("left-behind", "by the test")


# --- private Redis servers ----------------------------------------------------------------


def test_private_server_answers_on_loopback(
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory()
    assert server.host == "127.0.0.1"
    assert server.url == f"redis://127.0.0.1:{server.port}/0"
    with redis.Redis.from_url(server.url, socket_timeout=1) as client:
        client.set("k", "v")
        assert client.get("k") == b"v"


def test_each_private_server_has_its_own_port(
    redis_server_factory: RedisServerFactory,
) -> None:
    first, second = redis_server_factory(), redis_server_factory()
    assert first.port != second.port
    assert first.port != settings.DEFAULT_REDIS_PORT


def test_extra_arguments_reach_redis_server(
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory("--maxmemory", "1mb")
    with quick_client(server) as client:
        assert client.config_get("maxmemory") == {"maxmemory": str(1024 * 1024)}
        # Nothing may reach the disk: tests must not depend on, or leave, persisted state.
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}


def test_kill_then_restart_gives_an_empty_server_on_the_same_port(
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory()
    port, old_pid = server.port, server.pid
    with quick_client(server) as client:
        client.set("k", "v")
    server.kill()
    assert not server.is_running()
    with quick_client(server) as client, pytest.raises(redis.ConnectionError):
        client.ping()

    server.restart()
    assert (server.port, server.is_running()) == (port, True)
    assert server.pid != old_pid
    with quick_client(server) as client:
        assert client.get("k") is None


def test_restart_of_a_running_server_replaces_it(
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory()
    old_pid = server.pid
    server.restart()
    assert old_pid is not None
    assert not process_exists(old_pid)
    with quick_client(server) as client:
        assert client.ping()


def test_frozen_server_is_silent_until_thawed(
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory()
    server.freeze()
    with (
        quick_client(server, timeout_s=0.3) as client,
        pytest.raises(redis.TimeoutError),
    ):
        client.ping()
    server.thaw()
    with quick_client(server) as client:
        assert client.ping()


def test_stop_is_idempotent_and_frees_the_port(
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory()
    server.stop()
    server.stop()
    assert not server.is_running()
    with quick_client(server) as client, pytest.raises(redis.ConnectionError):
        client.ping()


def test_stop_all_reaps_running_frozen_and_dead_servers(tmp_path: Path) -> None:
    executable = find_redis_server() or unavailable("redis-server is not on PATH")
    workdirs = iter(tmp_path / name for name in ("running", "frozen", "killed"))
    factory = RedisServerFactory(executable, lambda: next(workdirs))
    running, frozen, killed = factory(), factory(), factory()
    frozen.freeze()
    killed.kill()
    pids = [server.pid for server in (running, frozen, killed)]

    factory.stop_all()

    assert all(pid is not None and not process_exists(pid) for pid in pids)


# --- private Redis Cluster ----------------------------------------------------------------


def cluster_client(nodes: list[tuple[str, int]]) -> RedisCluster:
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in nodes],  # type: ignore[no-untyped-call]
        socket_timeout=2,
        decode_responses=True,
    )


def test_cluster_has_three_healthy_masters_and_no_replicas(
    redis_cluster_nodes: list[tuple[str, int]],
) -> None:
    assert len(redis_cluster_nodes) == 3
    for host, port in redis_cluster_nodes:
        assert host == "127.0.0.1"
        info = cluster_info(host, port)
        assert (
            info["cluster_state"],
            info["cluster_known_nodes"],
            info["cluster_size"],
        ) == ("ok", "3", "3")
        with redis.Redis(host=host, port=port, socket_timeout=1, decode_responses=True) as client:
            node_lines: list[str] = client.execute_command("CLUSTER", "NODES").splitlines()
        assert all("master" in line.split()[2] for line in node_lines)


def test_cluster_client_stores_keys_on_every_master(
    clean_redis_cluster_nodes: list[tuple[str, int]],
) -> None:
    keys = [f"key-{n}" for n in range(30)]
    with cluster_client(clean_redis_cluster_nodes) as cluster:
        for key in keys:
            cluster.set(key, key.upper())
        assert [cluster.get(key) for key in keys] == [key.upper() for key in keys]
        ports_used = {cluster.get_node_from_key(key).port for key in keys}
    assert ports_used == {port for _, port in clean_redis_cluster_nodes}


def test_eval_runs_across_keys_sharing_a_hash_tag(
    clean_redis_cluster_nodes: list[tuple[str, int]],
) -> None:
    script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCRBY', KEYS[2], ARGV[2])"
    with cluster_client(clean_redis_cluster_nodes) as cluster:
        assert cluster.keyslot("{session:1}:data") == cluster.keyslot("{session:1}:counter")
        result = cluster.eval(script, 2, "{session:1}:data", "{session:1}:counter", "payload", 5)
        assert result == 5
        assert cluster.get("{session:1}:data") == "payload"


def test_clean_redis_cluster_nodes_start_empty(
    clean_redis_cluster_nodes: list[tuple[str, int]],
) -> None:
    for host, port in clean_redis_cluster_nodes:
        with redis.Redis(host=host, port=port, socket_timeout=1) as client:
            assert client.dbsize() == 0


# --- the run's PostgreSQL database ---------------------------------------------------------


def test_postgres_run_database_is_this_runs_own(postgres_run_database: str, postgres_url: str) -> None:
    assert postgres_run_database.startswith(DATABASE_PREFIX)
    assert make_url(postgres_url).database == postgres_run_database
    assert PostgresServer(port=settings.postgres_port()).database == postgres_run_database
    with PostgresServer(port=settings.postgres_port()).connect() as connection:
        assert connection.execute("SELECT current_database()").fetchone() == (postgres_run_database,)


def test_postgres_schema_is_named_for_this_run(postgres_schema: str) -> None:
    assert postgres_schema.startswith(SCHEMA_PREFIX)
    # Unquoted-identifier safe: code under test may interpolate it into SQL as is.
    assert postgres_schema.isidentifier()
    assert postgres_schema == postgres_schema.lower()


def test_postgres_url_is_psycopg_on_loopback(postgres_url: str) -> None:
    url = make_url(postgres_url)
    assert (url.drivername, url.host, url.port, url.username, url.database) == (
        "postgresql+psycopg",
        "127.0.0.1",
        settings.postgres_port(),
        "postgres",
        os.environ[settings.POSTGRES_DATABASE_ENV],
    )


def test_postgres_url_connections_work_in_the_test_schema(postgres_url: str, postgres_schema: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            assert connection.scalar(text("SELECT current_schema()")) == postgres_schema
            connection.execute(text("CREATE TABLE selftest_widgets (id integer PRIMARY KEY)"))
            connection.execute(text("INSERT INTO selftest_widgets VALUES (1)"))
        # A fresh pooled connection must land in the same schema, not in public.
        engine.dispose()
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM selftest_widgets")) == 1
            table_schema = connection.scalar(
                text(
                    "SELECT table_schema FROM information_schema.tables WHERE table_name = 'selftest_widgets'"
                )
            )
            assert table_schema == postgres_schema
            connection.execute(text("DROP TABLE selftest_widgets"))
            connection.commit()
    finally:
        engine.dispose()


# --- absent services ----------------------------------------------------------------------

ABSENT_SERVICES_TESTS = textwrap.dedent(
    """
    def test_shared_redis(redis_url): pass
    def test_private_redis(redis_server_factory): pass
    def test_redis_cluster(redis_cluster_nodes): pass
    def test_postgres(postgres_url): pass
    """
)


def run_pytest_without_services(
    tmp_path: Path, *, require_services: bool
) -> subprocess.CompletedProcess[str]:
    """Run the fixtures in a child pytest pointed at closed ports, with no redis-server on PATH."""
    (tmp_path / "test_absent_services.py").write_text(ABSENT_SERVICES_TESTS)
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    env = {key: value for key, value in os.environ.items() if key != REQUIRE_SERVICES_ENV}
    env.update(
        PATH=str(empty_bin),
        PYTHONPATH=str(REPO_ROOT),
        **{
            settings.REDIS_PORT_ENV: str(free_loopback_port()),
            settings.POSTGRES_PORT_ENV: str(free_loopback_port()),
        },
    )
    if require_services:
        env[REQUIRE_SERVICES_ENV] = "1"
    command = [
        sys.executable, "-m", "pytest", "-p", "tests.support.services", "-p", "no:cacheprovider",
        "--import-mode=importlib", f"--rootdir={tmp_path}", f"--basetemp={tmp_path / 'inner-tmp'}",
        "-q", "-rsE", "test_absent_services.py",
    ]  # fmt: skip
    return subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_fixtures_skip_with_reasons_when_services_are_absent(tmp_path: Path) -> None:
    result = run_pytest_without_services(tmp_path, require_services=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 skipped" in result.stdout
    assert "Redis is not reachable" in result.stdout
    assert "PostgreSQL is not reachable" in result.stdout
    assert "redis-server is not on PATH" in result.stdout


def test_fixtures_fail_when_absent_services_are_required(tmp_path: Path) -> None:
    result = run_pytest_without_services(tmp_path, require_services=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "4 errors" in result.stdout
    assert "skipped" not in result.stdout
    assert f"{REQUIRE_SERVICES_ENV}=1" in result.stdout


# --- what a run leaves behind -------------------------------------------------------------

RECORDING_TESTS = textwrap.dedent(
    """
    from pathlib import Path
    def test_record(redis_url, postgres_run_database):
        Path("used.txt").write_text(redis_url + " " + postgres_run_database)
    """
)


def test_a_run_leaves_no_database_and_no_server_behind(tmp_path: Path) -> None:
    (tmp_path / "test_recording.py").write_text(RECORDING_TESTS)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in (settings.REDIS_DB_ENV, settings.REDIS_PORT_ENV)
    }
    env.update(PYTHONPATH=str(REPO_ROOT))
    command = [
        sys.executable, "-m", "pytest", "-p", "tests.support.services", "-p", "no:cacheprovider",
        "--import-mode=importlib", f"--rootdir={tmp_path}", f"--basetemp={tmp_path / 'inner-tmp'}",
        "-q", "test_recording.py",
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if "1 skipped" in result.stdout:
        unavailable(f"the child run skipped: {result.stdout[-500:]}")
    assert result.returncode == 0, result.stdout + result.stderr
    redis_url, database = (tmp_path / "used.txt").read_text().split()
    port = urlsplit(redis_url).port
    assert port is not None
    assert port != settings.DEFAULT_REDIS_PORT
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    with pytest.raises(redis.ConnectionError):  # the private server stopped with the run
        client.ping()
    client.close()
    with maintenance_server(settings.postgres_port()).connect() as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchall()
    assert found == []
