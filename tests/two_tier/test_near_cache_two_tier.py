"""The near cache in the two-tier storage: nothing remembered before a Redis outage is served
during it, or after it, once the database has changed.

Process A (``reader``) resolves through its near cache; process B (``writer``) ends a session
while Redis is away, which only the database (and its outbox) then knows. Both run the
production wiring on one private redis-server and the same PostgreSQL tables. The breaker and
the invalidation listener run on :class:`Seconds`, moved by hand, so that reopening Redis and
reconnecting happen when a test says, without sleeping.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from attrs import define
from dependency_injector import providers

from platform_sessions.adapters.redis import NearCache, RedisEndpoint, RedisOptions
from platform_sessions.adapters.two_tier import BreakerSettings, CircuitBreaker, TwoTierSettings
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.two_tier_storage import TwoTierStorage
from tests.redis.near_caches import MAX_SILENCE_S, RETRY_AFTER_S, Seconds, near_cache_on, remembered
from tests.sql.databases import unique_prefix
from tests.support.redis_clients import ping_error
from tests.support.redis_process import PrivateRedisServer
from tests.two_tier.wiring import two_tier_sessions

OPEN_S = 1.0
SETTINGS = TwoTierSettings(
    breaker=BreakerSettings(failure_threshold=1, open_seconds=OPEN_S), run_relay=False, auto_rewarm=False
)
# Quick to notice a dead or frozen server; the near cache is plugged in by the test (on Seconds).
OPTIONS = RedisOptions(connect_timeout=0.2, read_timeout=0.5, publish_in_background=False, near_cache_size=0)


@define
class Process:
    """One process's facade over the two-tier storage."""

    sessions: PlatformSessions
    storage: TwoTierStorage

    @property
    def near(self) -> NearCache[Any]:
        near: NearCache[Any] | None = self.storage.near_cache()
        assert near is not None, "this process has no near cache"
        return near

    def database_fallbacks(self) -> int:
        return int(self.storage.metrics().snapshot()["database_fallbacks"])


@define
class World:
    """The two processes, their Redis, and Alice's two sessions (one to keep, one to end)."""

    server: PrivateRedisServer
    seconds: Seconds
    reader: Process
    writer: Process
    platform: PlatformConnection
    kept: str
    ended: str


@pytest.fixture
def world(redis_server_factory, postgres_url, policy, clock) -> Iterator[World]:
    server: PrivateRedisServer = redis_server_factory()
    seconds = Seconds()
    shared = functools.partial(
        _process, server.url, postgres_url, unique_prefix(), policy=policy, clock=clock, seconds=seconds
    )
    with ExitStack() as stack:
        reader = stack.enter_context(shared(near_cache=True, migrate=True))
        writer = stack.enter_context(shared(near_cache=False, migrate=False))
        platform = writer.sessions.connect_platform(
            "alice", name="M", platform_type="mastodon", instance_url="https://m.example", username="a"
        )
        kept, ended = (writer.sessions.start_session("alice").token.value for _ in range(2))
        yield World(server, seconds, reader, writer, platform, kept, ended)


@contextmanager
def _process(
    redis_url: str,
    database_url: str,
    prefix: str,
    *,
    policy: SessionPolicy,
    clock: Clock,
    seconds: Seconds,
    near_cache: bool,
    migrate: bool,
) -> Iterator[Process]:
    """A two-tier storage on shared tables; the one that migrated them drops them."""

    remembering = near_cache_on(redis_url, seconds, options=OPTIONS) if near_cache else None

    def on_seconds(storage: TwoTierStorage) -> None:
        storage.breaker.override(
            providers.Singleton(
                CircuitBreaker,
                SETTINGS.breaker,
                monotonic=seconds,
                on_transition=storage.metrics.provided.breaker_moved,
            )
        )
        if remembering is not None:
            storage.near_cache.override(providers.Object(remembering))

    with two_tier_sessions(
        RedisEndpoint.server(redis_url),
        database_url,
        policy=policy,
        clock=clock,
        settings=SETTINGS,
        options=OPTIONS,
        customize=on_seconds,
        table_prefix=prefix,
        migrate=migrate,
    ) as (sessions, storage):
        try:
            yield Process(sessions, storage)
        finally:
            if remembering is not None:
                remembering.close()  # the test's own, not the storage's to release


def assert_served_from_near_cache(process: Process, token: str) -> None:
    hits, fallbacks = process.near.stats.hits, process.database_fallbacks()
    process.sessions.resolve(token)
    assert (process.near.stats.hits, process.database_fallbacks()) == (hits + 1, fallbacks)


def test_while_redis_is_dead_the_database_answers_not_the_near_cache(world):
    reader = world.reader
    for token in (world.kept, world.ended):
        remembered(reader, token)
    hits = reader.near.stats.hits

    world.server.kill()
    assert world.writer.sessions.end_session(world.ended)  # in the database, owed to Redis

    with pytest.raises(SessionNotFound):
        reader.sessions.resolve(world.ended)
    fallbacks = reader.database_fallbacks()
    assert reader.sessions.resolve(world.kept).platform == world.platform
    assert reader.database_fallbacks() == fallbacks + 1
    assert reader.near.stats.hits == hits
    assert len(reader.near) == 0

    world.server.restart()  # empty
    world.seconds.advance(max(OPEN_S, RETRY_AFTER_S))  # the breaker may probe, the listener reconnect
    reader.near.maintain()  # the heartbeat's beat that reconnects
    remembered(reader, world.kept)
    assert_served_from_near_cache(reader, world.kept)
    with pytest.raises(SessionNotFound):
        reader.sessions.resolve(world.ended)


def test_a_frozen_redis_is_not_trusted_past_max_silence(world):
    reader = world.reader
    for token in (world.kept, world.ended):
        remembered(reader, token)

    world.server.freeze()
    try:
        assert world.writer.sessions.end_session(world.ended)  # Redis timed out: the database ends it
        world.seconds.advance(MAX_SILENCE_S * 1.1)  # nothing heard from Redis for too long

        with pytest.raises(SessionNotFound):
            reader.sessions.resolve(world.ended)  # Redis timed out: the database answered
        fallbacks = reader.database_fallbacks()
        assert reader.sessions.resolve(world.kept).platform == world.platform
        assert reader.database_fallbacks() == fallbacks + 1
    finally:
        world.server.thaw()
    # Awake again before the short timeouts below meet it.
    assert ping_error(world.server.host, world.server.port, timeout_s=5.0) is None

    # Thawed: the listener's PING is answered, so its connection (and the entries) are trusted
    # again; the breaker's probe first applies the outbox (the ending), whose report drops it.
    world.seconds.advance(OPEN_S)
    reader.near.maintain()  # the heartbeat's beat that sends the PING
    with pytest.raises(SessionNotFound):
        reader.sessions.resolve(world.ended)
    remembered(reader, world.kept)
    assert_served_from_near_cache(reader, world.kept)
