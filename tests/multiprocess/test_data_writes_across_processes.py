"""Issue 15's acceptance, on real servers: two OS processes, two threads each, write different
keys of one session at once (Redis-only and two-tier, on a private redis-server and the
PostgreSQL test database). Every write survives (each key ends at its last value), and versions
count every write: the acknowledged versions are distinct and the stored one is 1 + all of them.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest

from tests.builders import ROUTING_KEY
from tests.multiprocess.data_writer import write_keys
from tests.processes.race_worker import build_facade
from tests.sql.databases import drop_tables, unique_prefix

PROCESSES = 2
THREADS = 2
WRITES = 40  # per thread
BUDGET_S = 40.0


@pytest.fixture(params=["redis", "two-tier"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_concurrent_writes_of_different_keys_all_survive_and_versions_count_them(
    storage_kind, redis_server_factory, postgres_url
):
    from platform_sessions.adapters.sqlalchemy import create_sql_engine, sql_tables, upgrade_database

    server = redis_server_factory()
    prefix = unique_prefix()
    upgrade_database(postgres_url, table_prefix=prefix)
    parent = build_facade(storage_kind, server.url, postgres_url, prefix, ROUTING_KEY.secret)
    try:
        started = parent.start_session("alice")
        token = str(started.token)
        first = started.context.session.version
        outcomes = _race(storage_kind, server.url, postgres_url, prefix, token)

        assert [e for o in outcomes for e in o["errors"]] == []
        versions = [v for o in outcomes for vs in o["acknowledged"].values() for v in vs]
        assert len(versions) == PROCESSES * THREADS * WRITES
        assert len(set(versions)) == len(versions), "two acknowledged writes share a version"
        session = parent.resolve(token).session
        assert session.version == first + len(versions) == max(versions)
        assert dict(session.data) == {f"p{p}t{t}": WRITES for p in range(PROCESSES) for t in range(THREADS)}
    finally:
        parent.close()
        engine = create_sql_engine(postgres_url)
        try:
            drop_tables(engine, sql_tables(prefix))
        finally:
            engine.dispose()


def _race(storage: str, redis_url: str, database_url: str, prefix: str, token: str) -> list[dict[str, Any]]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    now = time.time()
    specs = [
        {
            "storage": storage,
            "index": index,
            "redis_url": redis_url,
            "database_url": database_url,
            "table_prefix": prefix,
            "key": ROUTING_KEY.secret.hex(),
            "token": token,
            "threads": THREADS,
            "writes": WRITES,
            "start_at_wall": now + 4.0,  # after both have imported and built their storage
            "deadline_wall": now + BUDGET_S,
        }
        for index in range(PROCESSES)
    ]
    processes = [context.Process(target=write_keys, args=(spec, results)) for spec in specs]
    for process in processes:
        process.start()
    try:
        return [results.get(timeout=BUDGET_S + 20) for _ in processes]
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
