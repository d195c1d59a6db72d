"""The contract suites against the Redis adapters, on fakeredis, a real server and a real cluster.

The platform records behind the cached directory are the in-memory ones, as in the Redis-only
storage; the keys use the builders' routing key, so the sessions the suites build land in the
slots their tokens name.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

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
from tests.builders import ROUTING_KEY
from tests.contracts.platform_directory import PlatformDirectoryContract
from tests.contracts.session_context_query import SessionContextQueryContract
from tests.contracts.user_session_repository import UserSessionRepositoryContract
from tests.redis.legs import LEGS, client_on_leg


@pytest.fixture(params=LEGS)
def redis_client(request: pytest.FixtureRequest) -> Iterator[RedisClient]:
    yield from client_on_leg(request, request.param)


@pytest.fixture
def keys() -> RedisKeys:
    return RedisKeys(ROUTING_KEY)


@pytest.fixture
def platform_store() -> InMemoryPlatformStore:
    return InMemoryPlatformStore()


@pytest.fixture
def cached_directory(redis_client, keys, platform_store) -> RedisPlatformDirectory:
    cache = RedisPlatformCache(redis_client, keys, ttl=timedelta(minutes=15))
    return RedisPlatformDirectory(cache, InMemoryPlatformDirectory(platform_store))


class TestRedisUserSessionRepository(UserSessionRepositoryContract):
    @pytest.fixture
    def repository(self, redis_client, keys, policy):
        return RedisUserSessionRepository(redis_client, keys, policy)

    @pytest.fixture
    def uow_factory(self, platform_store):
        return lambda: InMemoryUnitOfWork(platform_store)  # the Redis storage's platform records


class TestRedisPlatformDirectory(PlatformDirectoryContract):
    @pytest.fixture
    def uow_factory(self, platform_store):
        return lambda: InMemoryUnitOfWork(platform_store)

    @pytest.fixture
    def directory(self, cached_directory):
        return cached_directory


class TestRedisSessionContextQuery(SessionContextQueryContract):
    @pytest.fixture
    def repository(self, redis_client, keys, policy):
        return RedisUserSessionRepository(redis_client, keys, policy)

    @pytest.fixture
    def uow_factory(self, platform_store):
        return lambda: InMemoryUnitOfWork(platform_store)

    @pytest.fixture
    def query(self, redis_client, keys, policy, cached_directory):
        cache = RedisPlatformCache(redis_client, keys, ttl=timedelta(minutes=15))
        return RedisSessionContextQuery(redis_client, keys, policy, cache, cached_directory)
