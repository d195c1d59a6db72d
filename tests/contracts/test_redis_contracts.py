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
    RedisEndpoint,
    RedisKeys,
    RedisPlatformCache,
    RedisPlatformDirectory,
    RedisSessionContextQuery,
    RedisUserSessionRepository,
    open_near_cache,
)
from platform_sessions.domain.ports import SessionContextQuery
from tests.builders import ROUTING_KEY
from tests.contracts.platform_directory import PlatformDirectoryContract
from tests.contracts.session_context_query import SessionContextQueryContract
from tests.contracts.user_session_repository import UserSessionRepositoryContract
from tests.redis.legs import LEGS, TEST_OPTIONS, client_on_leg


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


class LoadsAgree(SessionContextQuery):
    """Loads three times per call and checks the answers agree: with a near cache in front,
    that is usually a platform cache refill, a fill, then a hit."""

    def __init__(self, inner: SessionContextQuery) -> None:
        self._inner = inner

    def load(self, digest, *, now, requested_platform_id=None):  # type: ignore[no-untyped-def]
        first, *again = (
            self._inner.load(digest, now=now, requested_platform_id=requested_platform_id) for _ in range(3)
        )
        assert again == [first, first]
        return first


class TestNearCachedRedisSessionContextQuery(TestRedisSessionContextQuery):
    """The same contract with the near cache in front, on the server leg only: fakeredis and a
    cluster get no near cache. Only answers are checked, never hits: the shared server also
    reports other test runs' writes and flushes, which only ever empty the cache."""

    @pytest.fixture
    def redis_client(self, request):
        yield from client_on_leg(request, "server")

    @pytest.fixture
    def query(self, redis_client, keys, policy, cached_directory, clean_redis_url):
        near_cache = open_near_cache(RedisEndpoint.server(clean_redis_url), TEST_OPTIONS)
        assert near_cache is not None
        cache = RedisPlatformCache(redis_client, keys, ttl=timedelta(minutes=15))
        try:
            yield LoadsAgree(
                RedisSessionContextQuery(
                    redis_client, keys, policy, cache, cached_directory, near_cache=near_cache
                )
            )
        finally:
            near_cache.close()
