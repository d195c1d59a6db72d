"""Section 4: resolves per second with 1, 4 and 16 threads, and with 2 processes.

Each configuration runs for a fixed time, alternating with the baseline (GETs per second at the
same concurrency, same server), a few times; the median of each is reported. Every thread
resolves a session of its own, as concurrent requests of different browsers would.
"""

from __future__ import annotations

import multiprocessing
import statistics
import threading
import time
from collections.abc import Callable
from functools import partial
from multiprocessing.synchronize import Event as EventType
from queue import Empty
from typing import Any

from attrs import define, frozen

from benchmarks.baseline import Baseline
from benchmarks.storages import Servers, StorageKind, open_facade
from platform_sessions.adapters.redis import RedisEndpoint, RedisOptions, open_redis_client

THREAD_COUNTS = (1, 4, 16)
PROCESSES = 2
WARMUP_CALLS = 50
CHILD_TIMEOUT_S = 60.0
BASELINE_VALUE_SIZE = 1000


@frozen
class ChildJob:
    """What one benchmark process does: resolve its token, or GET the baseline key."""

    mode: str  # "resolve" or "get"
    kind: StorageKind
    servers: Servers
    token: str
    baseline_key: str
    seconds: float


@define
class Throughput:
    label: str
    resolves_per_s: float
    gets_per_s: float


def measure_concurrency(
    kind: StorageKind, servers: Servers, *, seconds: float, repeats: int
) -> list[Throughput]:
    facade = open_facade(kind, servers)
    baseline = Baseline(servers.redis_url, servers.key_prefix, BASELINE_VALUE_SIZE)
    try:
        user = "bench-concurrent"
        tokens = [str(facade.start_session(user).token) for _ in range(max(THREAD_COUNTS))]
        get = baseline.operation().run
        assert get is not None
        results: list[Throughput] = []
        for threads in THREAD_COUNTS:
            resolvers = [_bound(facade.resolve, token) for token in tokens[:threads]]
            getters = [get] * threads
            resolves, gets = _alternating(
                partial(_threads_rate, resolvers, seconds), partial(_threads_rate, getters, seconds), repeats
            )
            results.append(Throughput(f"{threads} thread{'s' if threads > 1 else ''}", resolves, gets))
        resolves, gets = _alternating(
            lambda: _processes_rate(
                [ChildJob("resolve", kind, servers, t, baseline.key, seconds) for t in tokens[:PROCESSES]]
            ),
            lambda: _processes_rate(
                [ChildJob("get", kind, servers, t, baseline.key, seconds) for t in tokens[:PROCESSES]]
            ),
            repeats,
        )
        results.append(Throughput(f"{PROCESSES} processes (1 thread each)", resolves, gets))
        return results
    finally:
        baseline.close()
        facade.close()


def _bound(function: Callable[[str], object], token: str) -> Callable[[], object]:
    return lambda: function(token)


def _alternating(
    first: Callable[[], float], second: Callable[[], float], repeats: int
) -> tuple[float, float]:
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeats):
        a.append(first())
        b.append(second())
    return statistics.median(a), statistics.median(b)


def _threads_rate(calls: list[Callable[[], object]], seconds: float) -> float:
    """Calls per second of all threads together, each thread looping on its own call."""
    for call in calls:  # connections open and scripts load before the clock starts
        for _ in range(WARMUP_CALLS // len(calls) + 1):
            call()
    counts = [0] * len(calls)
    start = threading.Barrier(len(calls) + 1)
    deadline: list[float] = [0.0]

    def loop(index: int, call: Callable[[], object]) -> None:
        start.wait()
        done = 0
        while time.perf_counter() < deadline[0]:
            call()
            done += 1
        counts[index] = done

    workers = [threading.Thread(target=loop, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for worker in workers:
        worker.start()
    deadline[0] = time.perf_counter() + seconds
    start.wait()
    for worker in workers:
        worker.join(timeout=seconds + CHILD_TIMEOUT_S)
    return sum(counts) / seconds


def _processes_rate(jobs: list[ChildJob]) -> float:
    """Calls per second of one process per job together, each with its own facade or client."""
    context = multiprocessing.get_context("spawn")  # an engine or a pool must not cross a fork
    ready: Any = context.Queue()
    done: Any = context.Queue()
    go = context.Event()
    children = [context.Process(target=_child, args=(job, go, ready, done), daemon=True) for job in jobs]
    for child in children:
        child.start()
    try:
        for _ in children:
            ready.get(timeout=CHILD_TIMEOUT_S)
        go.set()
        total = sum(int(done.get(timeout=jobs[0].seconds + CHILD_TIMEOUT_S)) for _ in children)
    except Empty:
        raise RuntimeError("a benchmark process did not report in time") from None
    finally:
        for child in children:
            child.join(timeout=CHILD_TIMEOUT_S)
            if child.is_alive():
                child.kill()
    return total / jobs[0].seconds


def _child(job: ChildJob, go: EventType, ready: Any, done: Any) -> None:
    if job.mode == "resolve":
        facade = open_facade(job.kind, job.servers)
        close: Callable[[], None] = facade.close

        def call() -> object:
            return facade.resolve(job.token)
    else:
        client = open_redis_client(RedisEndpoint.server(job.servers.redis_url), RedisOptions())
        close = client.close

        def call() -> object:
            return client.get(job.baseline_key)

    try:
        for _ in range(WARMUP_CALLS):
            call()
        ready.put(True)
        go.wait(timeout=CHILD_TIMEOUT_S)
        deadline = time.perf_counter() + job.seconds
        count = 0
        while time.perf_counter() < deadline:
            call()
            count += 1
        done.put(count)
    finally:
        close()
