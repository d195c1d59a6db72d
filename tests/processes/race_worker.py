"""One worker process of the identity races: builds its own storage as a deployment's worker
does (after start, never inherited), then races logouts against rotations and switches against
switches on sessions the other workers race on too, and writes what it was told to a ledger.

Run in a child started with the ``spawn`` method: importable, and nothing happens at import.
"""

from __future__ import annotations

import json
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LogoutCase:
    """A session one worker logs out with a context resolved before the race, while another
    rotates it: ``ordered`` ones are rotated once, acknowledged, before the logout starts."""

    key: str
    token: str
    rotator: int
    ender: int
    ordered: bool


@dataclass(frozen=True)
class SwitchCase:
    """A session every worker switches between ``platforms``."""

    key: str
    token: str
    platforms: tuple[str, ...]


@dataclass(frozen=True)
class WorkerSpec:
    storage: str  # "two-tier" or "redis"
    index: int
    redis_url: str
    database_url: str
    table_prefix: str
    routing_key_hex: str
    ledger_path: str
    logouts: tuple[LogoutCase, ...]
    switches: tuple[SwitchCase, ...]
    switches_per_session: int
    rotations_per_session: int
    deadline_wall_s: float  # time.time(): every loop stops here, finished or not
    seed: int


@dataclass
class Ledger:
    """What this worker was told; times are CLOCK_MONOTONIC ns, one clock for every process."""

    rotations: list[dict[str, Any]] = field(default_factory=list)
    logouts: list[dict[str, Any]] = field(default_factory=list)
    switches: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def build_facade(storage: str, redis_url: str, database_url: str, table_prefix: str, key: bytes) -> Any:
    """The storage as each worker of a deployment builds it after it starts."""
    from platform_sessions.adapters.redis import RedisOptions
    from platform_sessions.entrypoints import bootstrap

    # Timeouts for a 2-core machine shared by several test runs, not production's.
    options = RedisOptions(connect_timeout=2.0, read_timeout=5.0)
    if storage == "two-tier":
        return bootstrap(
            redis_url=redis_url,
            database_url=database_url,
            table_prefix=table_prefix,
            routing_key=key,
            redis_options=options,
        )
    if storage == "redis":
        return _redis_storage_with_sql_platforms(redis_url, database_url, table_prefix, key, options)
    raise ValueError(f"unknown storage {storage!r}")


def _redis_storage_with_sql_platforms(
    redis_url: str, database_url: str, table_prefix: str, key: bytes, options: Any
) -> Any:
    """``bootstrap(redis_url=...)``, with the platform records in the shared database instead
    of each process's memory (``RedisStorage.platform_records``, as its docstring says): worker
    processes must agree on a user's platforms to switch between them."""

    import attrs

    from platform_sessions.adapters.redis import RedisEndpoint
    from platform_sessions.adapters.system_clock import SystemClock
    from platform_sessions.domain.policy import SessionPolicy
    from platform_sessions.domain.routing import RoutingKey
    from platform_sessions.entrypoints.container import Wiring
    from platform_sessions.entrypoints.facade import PlatformSessions
    from platform_sessions.entrypoints.redis_storage import RedisStorageBuilder
    from platform_sessions.entrypoints.sql_storage import SqlStorageBuilder

    wiring = Wiring(policy=SessionPolicy(), routing_key=RoutingKey(key), clock=SystemClock())
    builder = RedisStorageBuilder(endpoint=RedisEndpoint.server(redis_url), options=options)
    storage = builder.container(wiring)
    records = SqlStorageBuilder(
        database_url=database_url, table_prefix=table_prefix, migrate=False
    ).container(wiring)
    # The two names RedisStorage takes from its platform records (the whole container cannot
    # be overridden by one of another shape).
    storage.platform_records.platform_directory.override(records.platform_directory)
    storage.platform_records.uow_factory.override(records.uow_factory)
    opened = builder.open(wiring, container=storage)

    def close() -> None:
        opened.close()
        records.shutdown_resources()

    return PlatformSessions(
        attrs.evolve(opened, close=close), policy=wiring.policy, routing_key=wiring.routing_key
    )


def run(spec: WorkerSpec, barrier: Any) -> None:
    """The child's entry point: build, resolve, wait for every worker, race, write the ledger."""
    ledger = Ledger()
    run_and_record(lambda: _race(spec, barrier, ledger), ledger, spec.ledger_path, barrier)


def run_and_record(body: Callable[[], None], ledger: Any, ledger_path: str, barrier: Any) -> None:
    """Run a child's ``body``, then write its ledger (a dataclass with an ``errors`` list); a
    failure goes into the ledger and aborts the barrier, so the other children do not wait."""
    try:
        body()
    except BaseException:
        ledger.errors.append(traceback.format_exc())
        barrier.abort()
    Path(ledger_path).write_text(json.dumps(asdict(ledger)), encoding="utf-8")


def _race(spec: WorkerSpec, barrier: Any, ledger: Ledger) -> None:
    from platform_sessions.domain.errors import SessionNotFound

    rng = random.Random(spec.seed)
    sessions = build_facade(
        spec.storage,
        spec.redis_url,
        spec.database_url,
        spec.table_prefix,
        bytes.fromhex(spec.routing_key_hex),
    )
    try:
        # Phase 1: this request's read of every session, made before any other worker writes.
        mine_to_end = [c for c in spec.logouts if c.ender == spec.index]
        mine_to_rotate = [c for c in spec.logouts if c.rotator == spec.index]
        to_end = {c.key: sessions.resolve(c.token) for c in mine_to_end}
        latest = {c.key: c.token for c in mine_to_rotate}
        switch_reads = {c.key: sessions.resolve(c.token).session for c in spec.switches}
        barrier.wait(timeout=60)

        def rotate(case: LogoutCase) -> bool:
            started = time.monotonic_ns()
            try:
                rotated = sessions.rotate(latest[case.key])
            except SessionNotFound:
                return False  # ended: no rotation succeeds after a logout
            latest[case.key] = str(rotated.token)
            ledger.rotations.append(
                {
                    "key": case.key,
                    "token": str(rotated.token),
                    "version": rotated.session.version,
                    "started_ns": started,
                    "acked_ns": time.monotonic_ns(),
                }
            )
            return True

        # Phase 2: the ordered cases are rotated (acknowledged) before any logout begins.
        for case in mine_to_rotate:
            if case.ordered:
                rotate(case)
        barrier.wait(timeout=60)

        # Phase 3: everything at once: this worker's logouts, rotations and switches, shuffled.
        steps: list[Callable[..., object]] = []  # each called with no arguments
        for case in mine_to_end:
            steps.append(lambda c=case: _log_out(sessions, c, to_end[c.key], ledger))
        for case in mine_to_rotate:
            steps.extend([lambda c=case: rotate(c)] * spec.rotations_per_session)
        for switch in spec.switches:
            for _ in range(spec.switches_per_session):
                steps.append(lambda c=switch: _switch(sessions, c, switch_reads, rng, ledger))
        rng.shuffle(steps)
        for step in steps:
            if time.time() > spec.deadline_wall_s:
                ledger.errors.append("the worker ran out of time")
                break
            step()
    finally:
        sessions.close()


def _log_out(sessions: Any, case: LogoutCase, context: Any, ledger: Ledger) -> None:
    started = time.monotonic_ns()
    ended = sessions.end_session(context)  # the context this request resolved, before the race
    ledger.logouts.append(
        {"key": case.key, "ended": ended, "started_ns": started, "acked_ns": time.monotonic_ns()}
    )


def _switch(
    sessions: Any, case: SwitchCase, reads: dict[str, Any], rng: random.Random, ledger: Ledger
) -> None:
    from platform_sessions.domain.errors import PlatformSessionsError

    target = rng.choice(case.platforms)
    # Mostly the stale read of phase 1 (a tab that resolved long ago, a double click), else
    # the session the last outcome carried.
    passed = reads[case.key]
    started = time.monotonic_ns()
    try:
        outcome = sessions.switch_platform(passed, target)
    except PlatformSessionsError as error:  # the parent allows only ConcurrentUpdate
        ledger.refused.append({"key": case.key, "error": type(error).__name__})
        return
    acked = time.monotonic_ns()
    ledger.switches.append(
        {
            "key": case.key,
            "target": target,
            "passed_version": passed.version,
            "version": outcome.session.version,
            "active": outcome.session.active_platform_id,
            "changed": outcome.changed,
            "started_ns": started,
            "acked_ns": acked,
        }
    )
    if rng.random() < 0.3:
        reads[case.key] = outcome.session
