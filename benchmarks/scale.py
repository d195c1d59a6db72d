"""Section 2: resolve cost as the number of live sessions grows, and Redis memory per session.

Runs on a private redis-server (a million sessions would crowd the shared one) with the Redis
storage: resolve reads only Redis in the Redis and the two-tier storage alike. At each size the
resolves of random sampled sessions are interleaved with the baseline GET on the same server.
The near cache is off here: it would answer the sampled sessions from memory, and what could
grow with the number of keys is Redis's side.
"""

from __future__ import annotations

import random
import statistics
import time
from contextlib import ExitStack

from attrs import define

from benchmarks.baseline import Baseline, stored_session_size
from benchmarks.private_redis import PrivateRedis, private_redis
from benchmarks.session_loader import SESSIONS_PER_USER, SessionLoader
from benchmarks.storages import Servers, StorageKind, open_facade
from benchmarks.timing import Measured, Operation, interleaved
from platform_sessions.adapters.memory import ManualClock
from platform_sessions.adapters.redis import RedisKeys, open_redis_client
from platform_sessions.adapters.redis.client import RedisEndpoint, RedisOptions
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.domain.token import SessionToken
from platform_sessions.entrypoints.facade import PlatformSessions

SAMPLE_TARGET = 2000  # tokens kept per run, spread over every size
MEMORY_SAMPLES = 500


@define
class ScalePoint:
    sessions: int
    load_seconds: float
    baseline: Measured
    resolve: Measured


@define
class MemoryUse:
    session_bytes: float  # median MEMORY USAGE of a session hash
    index_bytes: float  # median MEMORY USAGE of a user's index
    sessions_per_index: int
    used_memory_per_session: float  # INFO used_memory growth over the whole load, per session


@define
class ScaleResult:
    points: list[ScalePoint]
    memory: MemoryUse | None


def measure_scale(servers: Servers, sizes: list[int], *, rounds: int, warmup: int) -> ScaleResult:
    policy = SessionPolicy()
    clock = ManualClock()  # stands still: no resolve is due for a touch
    with ExitStack() as stack:
        server = stack.enter_context(private_redis())
        private = servers.with_redis(server.url)
        keys = RedisKeys(RoutingKey.from_text(servers.routing_key), servers.key_prefix)
        loader_client = open_redis_client(RedisEndpoint.server(server.url), RedisOptions(read_timeout=60))
        stack.callback(loader_client.close)
        loader = SessionLoader(
            loader_client, keys, policy, clock.now(), sample_every=max(1, max(sizes) // SAMPLE_TARGET)
        )
        # Near cache off: what could grow with the number of keys is Redis's side of a resolve.
        facade = open_facade(StorageKind.REDIS, private, clock=clock, near_cache=False)
        stack.callback(facade.close)
        empty_memory = _used_memory(server)
        points: list[ScalePoint] = []
        value_size = 0
        for size in sorted(sizes):
            started = time.perf_counter()
            loader.load_until(size)
            load_seconds = time.perf_counter() - started
            if not value_size:
                probe = facade.resolve(loader.sample[0]).session
                value_size = stored_session_size(probe, keys.label_for(probe.logged_in_user_id))
            for token in loader.sample:  # steady state: every sampled user's platform cache filled
                facade.resolve(token)
            baseline = Baseline(server.url, servers.key_prefix, value_size)
            stack.callback(baseline.close)
            measured = interleaved(
                [baseline.operation(), _random_resolve(facade, loader.sample)], rounds=rounds, warmup=warmup
            )
            points.append(ScalePoint(size, load_seconds, measured[0], measured[1]))
        memory = _memory_use(server, keys, loader, empty_memory)
        return ScaleResult(points, memory)


def _random_resolve(facade: PlatformSessions, tokens: list[str]) -> Operation:
    chooser = random.Random(11)
    chosen: list[str] = []

    def pick() -> None:
        chosen.append(chooser.choice(tokens))

    return Operation("resolve a random live session", lambda: facade.resolve(chosen.pop()), prepare=pick)


def _used_memory(server: PrivateRedis) -> int:
    with server.client() as client:
        return int(client.info("memory")["used_memory"])


def _memory_use(server: PrivateRedis, keys: RedisKeys, loader: SessionLoader, empty: int) -> MemoryUse:
    tokens = loader.sample[:MEMORY_SAMPLES]
    users = loader.sample_users[:MEMORY_SAMPLES]
    with server.client() as client:
        sessions = [
            client.memory_usage(keys.session(SessionToken.parse(token).digest), samples=0) for token in tokens
        ]
        indexes = [client.memory_usage(keys.index_for(user), samples=0) for user in users]
    grown = _used_memory(server) - empty
    return MemoryUse(
        session_bytes=statistics.median(s for s in sessions if s),
        index_bytes=statistics.median(i for i in indexes if i),
        sessions_per_index=SESSIONS_PER_USER,
        used_memory_per_session=grown / loader.loaded,
    )
