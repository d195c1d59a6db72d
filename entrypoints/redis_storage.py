"""The Redis storage: user sessions, the one-round-trip resolve, the platform cache and events
in Redis; the platform connections' records in another storage (in memory unless overridden).

Its container provides the names every storage container provides (``user_sessions``,
``session_contexts``, ``platform_directory``, ``uow_factory``, ``event_publisher``), plus
``client``, ``near_cache``, ``keys`` and ``platform_cache``, which the two-tier storage builds on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from attrs import Factory, frozen
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
from platform_sessions.adapters.redis.near_cache import near_cache_counters
from platform_sessions.adapters.redis.reachability import redis_reachable, verify_redis
from platform_sessions.application.storage_operations import StorageHealth
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import EventPublisher, PlatformDirectory
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.container import OpenStorage, Wiring, lasting, open_storage
from platform_sessions.entrypoints.memory_storage import MemoryStorage
from platform_sessions.entrypoints.settings import StoragePlan
from platform_sessions.entrypoints.store_checks import StoreCheck


def opened_client(endpoint: RedisEndpoint, options: RedisOptions) -> Iterator[RedisClient]:
    """The process's one client and its pool, closed with the storage."""
    client = open_redis_client(endpoint, options)
    yield from lasting(client, client.close, "the Redis client")


def opened_near_cache(endpoint: RedisEndpoint, options: RedisOptions) -> Iterator[NearCache[Any] | None]:
    near_cache = open_near_cache(endpoint, options)
    yield from lasting(near_cache, near_cache.close if near_cache else lambda: None, "the near cache")


def opened_publisher(
    endpoint: RedisEndpoint, client: RedisClient, keys: RedisKeys, options: RedisOptions
) -> Iterator[EventPublisher]:
    """The publisher of both Redis-fronted storages (this one and two-tier); on closing, it
    delivers what is queued (before the client it needs closes: it depends on it)."""
    if endpoint.embedded:
        # fakeredis lives in this process: nobody else could subscribe, and an in-process
        # publisher can be followed as it is (the demo's live updates between tabs).
        publisher: EventPublisher = InMemoryEventPublisher()
    else:
        # On a server: events to Redis, and the process's one subscriber following them.
        publisher = open_event_publisher(endpoint, client, keys, options)
    yield from lasting(publisher, lambda: close_event_publisher(publisher), "the event publisher")


class RedisStorage(containers.DeclarativeContainer):
    """Sessions, the one-round-trip resolve, the platform cache and events in Redis.

    ``platform_records`` is the storage of record for platform connections: the cache reads
    through its ``platform_directory`` (``backing_directory``) and the use cases write through
    its ``uow_factory``. It is the in-memory storage by default; the two-tier storage puts the
    SQL one's directory behind the cache instead. The client is created on first use, once.
    """

    policy = providers.Dependency(instance_of=SessionPolicy)
    routing_key = providers.Dependency(instance_of=RoutingKey)
    endpoint = providers.Dependency(instance_of=RedisEndpoint)
    options = providers.Dependency(instance_of=RedisOptions, default=RedisOptions())
    # Whether a miss in a slot marked complete is an answer (the two-tier storage's rewarm marks them).
    read_completeness = providers.Object(False)

    platform_records = providers.Container(MemoryStorage, policy=policy)
    backing_directory = providers.Dependency(
        instance_of=PlatformDirectory,  # type: ignore[type-abstract]
        default=platform_records.platform_directory,
    )

    client = providers.Resource(opened_client, endpoint, options)
    near_cache = providers.Resource(opened_near_cache, endpoint, options)
    keys = providers.Singleton(RedisKeys, routing_key=routing_key, prefix=options.provided.key_prefix)
    platform_cache = providers.Singleton(
        RedisPlatformCache, client=client, keys=keys, ttl=options.provided.platform_cache_ttl
    )
    platform_directory = providers.Singleton(
        RedisPlatformDirectory, cache=platform_cache, backing=backing_directory
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
        read_completeness=read_completeness,
        near_cache=near_cache,
    )
    event_publisher = providers.Resource(opened_publisher, endpoint, client, keys, options)


@frozen(kw_only=True)
class RedisStorageBuilder:
    """Opens a :class:`RedisStorage` on ``endpoint`` (a server, a cluster, or fakeredis in
    this process)."""

    endpoint: RedisEndpoint
    options: RedisOptions = Factory(RedisOptions)

    def container(self, wiring: Wiring) -> RedisStorage:
        """The container, nothing built yet; override its providers before :meth:`open`."""
        container = RedisStorage(policy=wiring.policy, routing_key=wiring.routing_key)
        self.configure(container)
        return container

    def configure(self, container: Any) -> None:
        """Point ``container``, a :class:`RedisStorage` (the two-tier storage's is nested), at
        this builder's endpoint."""
        container.endpoint.override(providers.Object(self.endpoint))
        container.options.override(providers.Object(self.options))

    def checks(self, container: Any, wiring: Wiring) -> list[StoreCheck]:
        """A server must be a writable Redis holding this routing key's data (fakeredis in
        this process is new each time: nothing to check)."""
        if self.endpoint.embedded:
            return []
        where, prefix = self.endpoint.describe(), self.options.key_prefix
        return [
            lambda: verify_redis(
                container.client(), where=where, prefix=prefix, fingerprint=wiring.fingerprint
            )
        ]

    def describe(self, storage: str, database_url: str | None = None) -> str:
        """What the command line prints and ``health()`` reports (no passwords)."""
        endpoint = self.endpoint
        return StoragePlan(
            storage, endpoint.url, endpoint.cluster_nodes, endpoint.embedded, database_url
        ).description

    def open(self, wiring: Wiring, *, container: RedisStorage | None = None) -> OpenStorage:
        """See :class:`StorageBuilder`; ``container`` is one from :meth:`container`, its
        providers overridden (tests inject faults there)."""
        container = container or self.container(wiring)
        label = "fakeredis" if self.endpoint.embedded else "redis"
        checks = self.checks(container, wiring)
        description = self.describe(label)
        return open_storage(
            container,
            wiring,
            report=redis_health(label, container),
            description=description,
            checks=checks,
        )


def redis_health(label: str, container: Any) -> Callable[[], StorageHealth]:
    """One PING per report, and the near cache's counters."""

    def report() -> StorageHealth:
        reachable = redis_reachable(container.client())
        return StorageHealth(
            storage=label,
            healthy=reachable,
            redis_reachable=reachable,
            counters=near_cache_counters(container.near_cache()),
        )

    return report
