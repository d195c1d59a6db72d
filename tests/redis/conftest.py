"""Fixtures of the Redis adapter tests: a client per leg and the adapters built on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from attrs import frozen

from platform_sessions.adapters.memory import (
    InMemoryPlatformDirectory,
    InMemoryPlatformStore,
    InMemoryUnitOfWork,
)
from platform_sessions.adapters.redis import (
    RedisClient,
    RedisKeys,
    RedisPlatformCache,
    RedisPlatformDirectory,
    RedisSessionContextQuery,
    RedisUserSessionRepository,
)
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import UnitOfWorkFactory
from tests.builders import ROUTING_KEY
from tests.redis.legs import LEGS, client_on_leg

CACHE_TTL = timedelta(minutes=15)


@pytest.fixture(params=LEGS)
def redis_client(request: pytest.FixtureRequest) -> Iterator[RedisClient]:
    """A client of each leg in turn: fakeredis, the shared server, the private cluster."""
    yield from client_on_leg(request, request.param)


@pytest.fixture(params=["server", "cluster"])
def real_redis_client(request: pytest.FixtureRequest) -> Iterator[RedisClient]:
    """A client of each real leg: for what only real servers can show (concurrency, timing)."""
    yield from client_on_leg(request, request.param)


@pytest.fixture
def keys() -> RedisKeys:
    return RedisKeys(ROUTING_KEY)


@pytest.fixture
def platform_store() -> InMemoryPlatformStore:
    return InMemoryPlatformStore()


@pytest.fixture
def uow_factory(platform_store: InMemoryPlatformStore) -> UnitOfWorkFactory:
    return lambda: InMemoryUnitOfWork(platform_store)


@pytest.fixture
def backing_directory(platform_store: InMemoryPlatformStore) -> InMemoryPlatformDirectory:
    return InMemoryPlatformDirectory(platform_store)


@pytest.fixture
def repository(
    redis_client: RedisClient, keys: RedisKeys, policy: SessionPolicy
) -> RedisUserSessionRepository:
    return RedisUserSessionRepository(redis_client, keys, policy)


@pytest.fixture
def cache(redis_client: RedisClient, keys: RedisKeys) -> RedisPlatformCache:
    return RedisPlatformCache(redis_client, keys, ttl=CACHE_TTL)


@pytest.fixture
def directory(
    cache: RedisPlatformCache, backing_directory: InMemoryPlatformDirectory
) -> RedisPlatformDirectory:
    return RedisPlatformDirectory(cache, backing_directory)


@pytest.fixture
def query(
    redis_client: RedisClient,
    keys: RedisKeys,
    policy: SessionPolicy,
    cache: RedisPlatformCache,
    directory: RedisPlatformDirectory,
) -> RedisSessionContextQuery:
    return RedisSessionContextQuery(redis_client, keys, policy, cache, directory)


@frozen
class RedisWorld:
    """The Redis adapters over one client, with the in-memory platform records behind them."""

    client: RedisClient
    keys: RedisKeys
    repository: RedisUserSessionRepository
    directory: RedisPlatformDirectory
    query: RedisSessionContextQuery
    uow_factory: UnitOfWorkFactory


@pytest.fixture
def world(
    redis_client: RedisClient,
    repository: RedisUserSessionRepository,
    directory: RedisPlatformDirectory,
    query: RedisSessionContextQuery,
    uow_factory: UnitOfWorkFactory,
) -> RedisWorld:
    return RedisWorld(redis_client, RedisKeys(ROUTING_KEY), repository, directory, query, uow_factory)
