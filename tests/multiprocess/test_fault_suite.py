"""Multi-process fault suite: three worker OS processes, each with its own ``bootstrap()`` on a
private redis-server and a private PostgreSQL schema (reached through a TCP proxy the test
owns), run a mixed load over 300 shared sessions while the parent injects faults at random
moments. Every acknowledged operation is in a ledger; afterwards the ledgers are judged
(``ledger.py``) and the stores compared.

Asserted for every fault: no valid session rejected, no ended session resolving after its end
was acknowledged, no lost switch, no read older than an acknowledged write (by any process,
the writer included), Redis and the database equal and nothing owed in the outbox.

The seed is printed and in every failure message; ``PLATFORM_SESSIONS_FAULT_SEED`` replays one.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.multiprocess.rig import Outcome, check, run_workers, seed_sessions, sleep_until
from tests.sql.databases import unique_prefix
from tests.support import settings
from tests.support.postgres import PostgresServer
from tests.support.redis_process import PrivateRedisServer, RedisServerFactory
from tests.support.tcp_proxy import TcpProxy

LOAD_S = 18.0

Inject = Callable[[float, float], list[str]]


def _seed() -> int:
    given = os.environ.get("PLATFORM_SESSIONS_FAULT_SEED")
    return int(given) if given else random.SystemRandom().randrange(1, 1_000_000)


def _config(redis: PrivateRedisServer, proxy: TcpProxy, schema: str, seed: int) -> dict[str, Any]:
    port = settings.postgres_port()
    return {
        "seed": seed,
        "redis_url": redis.url,
        "database_url": PostgresServer(port=proxy.port).sqlalchemy_url(search_path=schema),
        "direct_database_url": PostgresServer(port=port).sqlalchemy_url(search_path=schema),
        "postgres_port": port,
        "schema": schema,
        "table_prefix": unique_prefix(),
    }


def _redis_killed(redis: PrivateRedisServer, rng: random.Random) -> Inject:
    def inject(start_at: float, stop_at: float) -> list[str]:
        done: list[str] = []
        moment = start_at + rng.uniform(2.0, 4.0)
        while moment < stop_at - 6.0:
            sleep_until(moment)
            redis.kill()
            down = rng.uniform(1.0, 3.0)
            time.sleep(down)
            redis.restart()
            done.append(f"SIGKILL at {moment:.3f} (+{moment - start_at:.1f}s), restarted after {down:.1f}s")
            moment = time.monotonic() + rng.uniform(2.0, 4.0)
        return done

    return inject


def _redis_frozen(redis: PrivateRedisServer, rng: random.Random) -> Inject:
    def inject(start_at: float, stop_at: float) -> list[str]:
        done: list[str] = []
        moment = start_at + rng.uniform(1.0, 3.0)
        while moment < stop_at - 3.0:
            sleep_until(moment)
            frozen = rng.uniform(1.0, 5.0)
            redis.freeze()
            try:
                time.sleep(frozen)
            finally:
                redis.thaw()
            done.append(f"SIGSTOP at {moment:.3f} (+{moment - start_at:.1f}s) for {frozen:.1f}s")
            moment = time.monotonic() + rng.uniform(1.0, 3.0)
        return done

    return inject


def _postgres_unreachable(proxy: TcpProxy, rng: random.Random) -> Inject:
    def inject(start_at: float, stop_at: float) -> list[str]:
        done: list[str] = []
        moment = start_at + rng.uniform(2.0, 4.0)
        while moment < stop_at - 4.0:
            sleep_until(moment)
            away = rng.uniform(1.0, 3.0)
            if len(done) % 2 == 0:
                proxy.cut(refuse_new=True)
                how = "cut (refusing)"
            else:
                proxy.pause()
                how = "paused"
            try:
                time.sleep(away)
            finally:
                proxy.restore()
            done.append(f"PostgreSQL {how} at {moment:.3f} (+{moment - start_at:.1f}s) for {away:.1f}s")
            moment = time.monotonic() + rng.uniform(2.0, 4.0)
        return done

    return inject


def assert_sound(outcome: Outcome, *, unavailable_allowed: bool) -> None:
    summary = outcome.summary()
    print(summary)
    verdict = outcome.verdict
    assert outcome.worker_failures == [], summary
    assert verdict.resolves > 1000, summary
    assert verdict.acknowledged_data_writes > 50, summary
    assert verdict.errors == 0, summary
    if not unavailable_allowed:
        assert verdict.unavailable == 0, summary
    assert verdict.rejections == 0, summary
    assert verdict.zombies == 0, summary
    assert verdict.lost_switches == 0, summary
    assert verdict.lost_data_writes == 0, summary
    assert verdict.stale_reads == 0, summary
    assert outcome.disagreements == [], summary
    assert outcome.owed_outbox_rows == 0, summary


@pytest.mark.parametrize(
    "fault",
    ["redis-killed", "redis-frozen", "postgres-unreachable"],
)
def test_acknowledged_operations_hold_across_processes(
    fault: str, redis_server_factory: RedisServerFactory, postgres_schema: str, tmp_path: Path
) -> None:
    seed = _seed()
    rng = random.Random(seed)
    print(f"fault={fault} seed={seed}")
    redis = redis_server_factory()
    with TcpProxy("127.0.0.1", settings.postgres_port()) as proxy:
        config = _config(redis, proxy, postgres_schema, seed)
        seed_sessions(config)
        inject = {
            "redis-killed": lambda: _redis_killed(redis, rng),
            "redis-frozen": lambda: _redis_frozen(redis, rng),
            "postgres-unreachable": lambda: _postgres_unreachable(proxy, rng),
        }[fault]()
        ledgers, faults, failures = run_workers(config, tmp_path, LOAD_S, inject)
        proxy.restore()
        if redis.is_running():
            redis.thaw()
        outcome = check(config, ledgers, faults, failures)
    assert_sound(outcome, unavailable_allowed=fault == "postgres-unreachable")
