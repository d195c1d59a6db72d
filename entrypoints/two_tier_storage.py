"""The two-tier storage: Redis in front, the database behind; see architecture.md, "Two tiers".

Its container is the SQL storage's container and the Redis storage's container together (the
cache reads through the SQL directory, the resolve trusts the rewarm's completeness markers),
plus the pieces of the two tiers; it provides the names every storage container provides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from attrs import Factory, frozen
from dependency_injector import containers, providers

from platform_sessions.adapters.redis.session_mirror import RedisSessionMirror
from platform_sessions.adapters.two_tier import CircuitBreaker, TwoTierHealth, TwoTierSettings
from platform_sessions.adapters.two_tier.change_recorder import ChangeRecorder
from platform_sessions.adapters.two_tier.database import SessionDatabase
from platform_sessions.adapters.two_tier.lag import DatabaseLag
from platform_sessions.adapters.two_tier.maintenance import Maintenance, RelayThread
from platform_sessions.adapters.two_tier.metrics import TwoTierMetrics
from platform_sessions.adapters.two_tier.mirror_work import MirrorWriter
from platform_sessions.adapters.two_tier.outbox_relay import OutboxRelay
from platform_sessions.adapters.two_tier.platform_directory import TwoTierPlatformDirectory
from platform_sessions.adapters.two_tier.redis_guard import RedisGuard
from platform_sessions.adapters.two_tier.rewarm import Rewarmer
from platform_sessions.adapters.two_tier.session_contexts import TwoTierSessionContextQuery
from platform_sessions.adapters.two_tier.user_sessions import TwoTierUserSessionRepository
from platform_sessions.application.storage_operations import RewarmProgress
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.container import OpenStorage, Wiring, open_storage
from platform_sessions.entrypoints.redis_storage import RedisStorage, RedisStorageBuilder
from platform_sessions.entrypoints.sql_storage import SqlStorage, SqlStorageBuilder

logger = logging.getLogger(__name__)

# facade.rewarm() waits this long for a rewarm already under way (the relay's, or another process's).
REWARM_WAIT_S = 60.0


def _breaker(settings: TwoTierSettings, metrics: TwoTierMetrics) -> CircuitBreaker:
    return CircuitBreaker(settings.breaker, on_transition=metrics.breaker_moved)


def _guard(
    breaker: CircuitBreaker, metrics: TwoTierMetrics, settings: TwoTierSettings, relay: OutboxRelay
) -> RedisGuard:
    # Misses are not authoritative for a few relay ticks after the breaker closes.
    guard = RedisGuard(breaker, metrics, grace_s=3 * settings.relay_interval_s, lease_s=settings.lease_s)
    guard.drain_before_closing(relay.drain)  # every half-open probe drains the outbox first
    return guard


def _now_of(clock: Clock) -> Callable[[], datetime]:
    return clock.now


class TwoTierStorage(containers.DeclarativeContainer):
    """Every piece of the two-tier storage. The stores' own providers are reachable here under
    the names the tools and tests use (``engine``, ``client``, ``near_cache``...); overriding
    one overrides it for both tiers."""

    policy = providers.Dependency(instance_of=SessionPolicy)
    routing_key = providers.Dependency(instance_of=RoutingKey)
    clock = providers.Dependency(instance_of=Clock)  # type: ignore[type-abstract]
    settings = providers.Dependency(instance_of=TwoTierSettings, default=TwoTierSettings())

    sql = providers.Container(SqlStorage, policy=policy)
    redis = providers.Container(
        RedisStorage,
        policy=policy,
        routing_key=routing_key,
        backing_directory=sql.platform_directory,
        read_completeness=providers.Object(True),
    )

    # the database
    engine = sql.engine
    tables = sql.tables
    database_sessions = sql.database_sessions
    sql_directory = sql.platform_directory
    uow_factory = sql.uow_factory
    database = providers.Singleton(
        SessionDatabase, database_sessions=database_sessions, tables=tables, policy=policy
    )

    # Redis
    client = redis.client
    near_cache = redis.near_cache
    keys = redis.keys
    platform_cache = redis.platform_cache
    cached_directory = redis.platform_directory
    redis_sessions = redis.user_sessions
    redis_query = redis.session_contexts
    event_publisher = redis.event_publisher
    mirror = providers.Singleton(RedisSessionMirror, client=client, keys=keys, policy=policy)

    # the two tiers together
    now = providers.Singleton(_now_of, clock)
    metrics = providers.Singleton(TwoTierMetrics)
    lag = providers.Singleton(DatabaseLag.of, policy, settings.provided.database_touch_interval)
    writer = providers.Singleton(MirrorWriter, mirror=mirror, cache=platform_cache)
    relay = providers.Singleton(
        OutboxRelay, database=database, writer=writer, metrics=metrics, lag=lag, now=now
    )
    breaker = providers.Singleton(_breaker, settings, metrics)
    guard = providers.Singleton(_guard, breaker, metrics, settings, relay)
    recorder = providers.Singleton(
        ChangeRecorder, database=database, writer=writer, mirror=mirror, guard=guard, metrics=metrics
    )
    user_sessions = providers.Singleton(
        TwoTierUserSessionRepository,
        database=database,
        redis_sessions=redis_sessions,
        recorder=recorder,
        guard=guard,
        metrics=metrics,
        lag=lag,
        clock=clock,
    )
    session_contexts = providers.Singleton(
        TwoTierSessionContextQuery,
        redis_query=redis_query,
        sessions=user_sessions,
        database=database,
        platforms=sql_directory,
        recorder=recorder,
        guard=guard,
        metrics=metrics,
        lag=lag,
        policy=policy,
    )
    platform_directory = providers.Singleton(
        TwoTierPlatformDirectory,
        cached=cached_directory,
        database=sql_directory,
        sessions_database=database,
        guard=guard,
        now=now,
    )
    rewarmer = providers.Singleton(
        Rewarmer,
        database=database,
        mirror=mirror,
        writer=writer,
        relay=relay,
        metrics=metrics,
        lag=lag,
        now=now,
    )
    maintenance = providers.Singleton(
        Maintenance,
        database=database,
        relay=relay,
        rewarmer=rewarmer,
        mirror=mirror,
        guard=guard,
        auto_rewarm=settings.provided.auto_rewarm,
    )
    health = providers.Singleton(
        TwoTierHealth,
        client=client,
        database=database,
        guard=guard,
        metrics=metrics,
        lag=lag,
        now=now,
        near_cache=near_cache,
    )


@frozen(kw_only=True)
class TwoTierStorageBuilder:
    """Opens a :class:`TwoTierStorage` on the stores of ``redis`` and ``sql`` (their builders'
    configuration and checks, the database's first: it is the record, and its fingerprint
    outlives a Redis restart), then starts the relay thread if ``settings`` say so.

    With fakeredis in this process, no other process may share a SQLite file (exclusive lock).
    """

    redis: RedisStorageBuilder
    sql: SqlStorageBuilder
    settings: TwoTierSettings = Factory(TwoTierSettings)

    def container(self, wiring: Wiring) -> TwoTierStorage:
        """The container, nothing built yet; override its providers before :meth:`open`."""
        container = TwoTierStorage(
            policy=wiring.policy, routing_key=wiring.routing_key, clock=wiring.clock, settings=self.settings
        )
        self.sql.configure(container.sql, exclusive_file=self.redis.endpoint.embedded)
        self.redis.configure(container.redis)
        return container

    def open(self, wiring: Wiring, *, container: TwoTierStorage | None = None) -> OpenStorage:
        storage = container or self.container(wiring)
        checks = [self.sql.check(storage.sql, wiring), *self.redis.checks(storage.redis, wiring)]
        description = self.redis.describe("two-tier", self.sql.database_url)
        stop_relay: list[Callable[[], None]] = []

        def close() -> None:
            for stop in stop_relay:
                stop()  # the relay first: it writes to both stores
            close_two_tier_storage(storage)

        def rewarm(progress: RewarmProgress | None) -> int:
            rewarmer: Rewarmer = storage.rewarmer()
            return rewarmer.rewarm(progress, wait_s=REWARM_WAIT_S)

        opened = open_storage(
            storage,
            wiring,
            report=lambda: storage.health().report(),
            description=description,
            checks=checks,
            rewarm=rewarm,
            close=close,
        )
        try:
            stop_relay.append(start_relay(storage))
        except BaseException:
            opened.close()
            raise
        return opened


def start_relay(storage: TwoTierStorage) -> Callable[[], None]:
    """Start the relay thread if the settings ask for it; returns what stops it."""
    settings: TwoTierSettings = storage.settings()
    if not settings.run_relay:
        return lambda: None
    maintenance: Maintenance = storage.maintenance()
    thread = RelayThread(maintenance.tick, settings.relay_interval_s)
    thread.start()
    return thread.stop


def close_two_tier_storage(storage: TwoTierStorage) -> None:
    """Delete the outbox rows already applied to Redis, then release the stores' resources
    (the event publisher delivers what is queued before the Redis client closes; the engine,
    then the SQLite file's lock)."""
    engine: Any = storage.engine  # the SQL container's Resource
    if engine.initialized:  # else nothing was written (opening failed before the engine)
        database: SessionDatabase = storage.database()
        try:
            database.flush_pending_clears()
        except StoreUnavailable as error:
            # Harmless: another process's relay applies them again (idempotent) and deletes them.
            logger.warning("could not clear applied outbox rows while closing: %s", error)
    storage.shutdown_resources()
