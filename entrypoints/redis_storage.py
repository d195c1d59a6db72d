"""The Redis storage as a dependency-injector container: user sessions and the platform cache
in Redis, the platform connections' records in another storage (in memory until SQL plugs in).

It provides the names every storage container provides (``user_sessions``,
``session_contexts``, ``platform_directory``, ``uow_factory``, ``event_publisher``), plus
``client``, the process's one Redis client, for closing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from platform_sessions.adapters.memory import InMemoryEventPublisher
from platform_sessions.adapters.redis import (
    NearCache,
    RedisClient,
    RedisEndpoint,
    RedisKeys,
    RedisOptions,
    RedisPlatformCache,
    RedisPlatformDirectory,
    RedisSessionContextQuery,
    RedisUserSessionRepository,
    close_event_publisher,
    open_event_publisher,
    open_near_cache,
    open_redis_client,
)
from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import EventPublisher
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.memory_storage import MemoryStorage

if TYPE_CHECKING:
    from platform_sessions.entrypoints.container import Container


def redis_event_publisher(
    endpoint: RedisEndpoint, client: RedisClient, keys: RedisKeys, options: RedisOptions
) -> EventPublisher:
    """The publisher of both Redis-fronted storages (this one and two-tier)."""
    if endpoint.embedded:
        # fakeredis lives in this process: nobody else could subscribe, and an in-process
        # publisher can be followed as it is (the demo's live updates between tabs).
        return InMemoryEventPublisher()
    # On a server: events to Redis, and the process's one subscriber following them.
    return open_event_publisher(endpoint, client, keys, options)


class RedisStorage(containers.DeclarativeContainer):
    """Sessions, the one-round-trip resolve, the platform cache and events in Redis.

    ``platform_records`` is the storage of record for platform connections: the cache reads
    through its ``platform_directory`` and the use cases write through its ``uow_factory``.
    It is the in-memory storage by default; override it with any storage container that
    provides those two names (the SQL one) to keep platform connections there.
    The client is created on first use, once; connections open when a use case runs.
    """

    policy = providers.Dependency(instance_of=SessionPolicy)
    routing_key = providers.Dependency(instance_of=RoutingKey)
    endpoint = providers.Dependency(instance_of=RedisEndpoint)
    options = providers.Dependency(instance_of=RedisOptions, default=RedisOptions())

    platform_records = providers.Container(MemoryStorage, policy=policy)

    client = providers.Singleton(open_redis_client, endpoint, options)
    near_cache = providers.Singleton(open_near_cache, endpoint, options)
    keys = providers.Singleton(RedisKeys, routing_key=routing_key, prefix=options.provided.key_prefix)
    platform_cache = providers.Singleton(
        RedisPlatformCache, client=client, keys=keys, ttl=options.provided.platform_cache_ttl
    )
    platform_directory = providers.Singleton(
        RedisPlatformDirectory, cache=platform_cache, backing=platform_records.platform_directory
    )
    uow_factory = platform_records.uow_factory
    user_sessions = providers.Singleton(RedisUserSessionRepository, client=client, keys=keys, policy=policy)
    session_contexts = providers.Singleton(
        RedisSessionContextQuery,
        client=client,
        keys=keys,
        policy=policy,
        cache=platform_cache,
        directory=platform_directory,
        near_cache=near_cache,
    )
    event_publisher = providers.Singleton(redis_event_publisher, endpoint, client, keys, options)


def plug_redis_storage(
    container: Container,
    *,
    endpoint: RedisEndpoint,
    options: RedisOptions | None = None,
) -> Callable[[], None]:
    """Plug a :class:`RedisStorage` into ``container`` and return what releases its client.

    The returned closer first lets the event worker deliver what is queued, then closes the
    client's connections; register it with the facade's ``add_closer``.
    """
    storage = RedisStorage(
        policy=container.policy,
        routing_key=container.routing_key,
        endpoint=endpoint,
        options=options or RedisOptions(),
    )
    container.storage.override(storage)

    def close() -> None:
        close_event_publisher(storage.event_publisher())
        _close_near_cache(storage.near_cache())
        client: RedisClient = storage.client()
        client.close()

    return close


def _close_near_cache(near_cache: NearCache[object] | None) -> None:
    if near_cache is not None:
        near_cache.close()


def redis_endpoint_for(
    storage: str,
    redis_url: str | None,
    redis_cluster_nodes: Sequence[tuple[str, int]] | None,
) -> RedisEndpoint | None:
    """The Redis endpoint ``bootstrap``'s arguments ask for, or ``None`` for another storage.

    A URL or cluster nodes imply ``storage="redis"``; ``"fakeredis"`` is the embedded one.
    """
    if redis_url is not None and redis_cluster_nodes is not None:
        raise InvalidInput("give either redis_url or redis_cluster_nodes, not both")
    if redis_url is not None or redis_cluster_nodes is not None:
        if storage not in ("memory", "redis"):  # "memory" is bootstrap's default
            raise InvalidInput(f"a Redis URL or cluster does not go with storage={storage!r}")
        if redis_url is not None:
            return RedisEndpoint.server(redis_url)
        return RedisEndpoint.cluster(list(redis_cluster_nodes or ()))
    if storage == "redis":
        raise InvalidInput("storage='redis' needs a redis_url or redis_cluster_nodes")
    if storage == "fakeredis":
        return RedisEndpoint.in_process()
    return None
