"""The two-tier storage as a dependency-injector container: Redis in front, the database behind.

It provides the names every storage container provides (``user_sessions``,
``session_contexts``, ``platform_directory``, ``uow_factory``, ``event_publisher``), plus
``health`` and ``rewarmer`` for the facade, and the client and engine for closing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from dependency_injector import containers, providers
from sqlalchemy.engine import Engine

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
    open_near_cache,
    open_redis_client,
)
from platform_sessions.adapters.redis.session_mirror import RedisSessionMirror
from platform_sessions.adapters.sqlalchemy import (
    DEFAULT_TABLE_PREFIX,
    SqlAlchemyPlatformDirectory,
    SqlAlchemyUnitOfWork,
    SqlEngineSettings,
    create_sql_engine,
    database_session_factory,
    sql_tables,
    upgrade_schema,
)
from platform_sessions.adapters.sqlalchemy.tables import checked_table_prefix
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
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.redis_storage import redis_event_publisher

if TYPE_CHECKING:
    from platform_sessions.entrypoints.container import Container

logger = logging.getLogger(__name__)


def _breaker(settings: TwoTierSettings, metrics: TwoTierMetrics) -> CircuitBreaker:
    return CircuitBreaker(settings.breaker, on_transition=metrics.breaker_moved)


def _guard(breaker: CircuitBreaker, metrics: TwoTierMetrics, settings: TwoTierSettings) -> RedisGuard:
    # Misses are not authoritative for a few relay ticks after the breaker closes.
    return RedisGuard(breaker, metrics, grace_s=3 * settings.relay_interval_s, lease_s=settings.lease_s)


def _now_of(clock: Clock) -> Callable[[], datetime]:
    return clock.now


class TwoTierStorage(containers.DeclarativeContainer):
    """Every piece of the two-tier storage; see architecture.md, "Two tiers"."""

    policy = providers.Dependency(instance_of=SessionPolicy)
    routing_key = providers.Dependency(instance_of=RoutingKey)
    clock = providers.Dependency(instance_of=Clock)  # type: ignore[type-abstract]
    endpoint = providers.Dependency(instance_of=RedisEndpoint)
    options = providers.Dependency(instance_of=RedisOptions, default=RedisOptions())
    database_url = providers.Dependency(instance_of=str)
    table_prefix = providers.Dependency(instance_of=str, default=DEFAULT_TABLE_PREFIX)
    engine_settings = providers.Dependency(instance_of=SqlEngineSettings, default=SqlEngineSettings())
    settings = providers.Dependency(instance_of=TwoTierSettings, default=TwoTierSettings())

    # the database
    engine = providers.Singleton(create_sql_engine, database_url, engine_settings)
    tables = providers.Singleton(sql_tables, table_prefix)
    database_sessions = providers.Singleton(database_session_factory, engine)
    sql_directory = providers.Singleton(
        SqlAlchemyPlatformDirectory, database_sessions=database_sessions, tables=tables
    )
    uow_factory = providers.Factory(SqlAlchemyUnitOfWork, database_sessions=database_sessions, tables=tables)
    database = providers.Singleton(
        SessionDatabase, database_sessions=database_sessions, tables=tables, policy=policy
    )

    # Redis
    client = providers.Singleton(open_redis_client, endpoint, options)
    near_cache = providers.Singleton(open_near_cache, endpoint, options)
    keys = providers.Singleton(RedisKeys, routing_key=routing_key, prefix=options.provided.key_prefix)
    platform_cache = providers.Singleton(
        RedisPlatformCache, client=client, keys=keys, ttl=options.provided.platform_cache_ttl
    )
    cached_directory = providers.Singleton(
        RedisPlatformDirectory, cache=platform_cache, backing=sql_directory
    )
    redis_sessions = providers.Singleton(RedisUserSessionRepository, client=client, keys=keys, policy=policy)
    redis_query = providers.Singleton(
        RedisSessionContextQuery,
        client=client,
        keys=keys,
        policy=policy,
        cache=platform_cache,
        directory=cached_directory,
        read_completeness=True,
        near_cache=near_cache,
    )
    mirror = providers.Singleton(RedisSessionMirror, client=client, keys=keys, policy=policy)
    event_publisher = providers.Singleton(redis_event_publisher, endpoint, client, keys, options)

    # the two tiers together
    now = providers.Singleton(_now_of, clock)
    metrics = providers.Singleton(TwoTierMetrics)
    breaker = providers.Singleton(_breaker, settings, metrics)
    guard = providers.Singleton(_guard, breaker, metrics, settings)
    lag = providers.Singleton(DatabaseLag.of, policy, settings.provided.database_touch_interval)
    writer = providers.Singleton(MirrorWriter, mirror=mirror, cache=platform_cache)
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
    relay = providers.Singleton(
        OutboxRelay, database=database, writer=writer, metrics=metrics, lag=lag, now=now
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


def plug_two_tier_storage(
    container: Container,
    *,
    endpoint: RedisEndpoint,
    database_url: str,
    options: RedisOptions | None = None,
    table_prefix: str = DEFAULT_TABLE_PREFIX,
    engine_settings: SqlEngineSettings | None = None,
    migrate: bool | None = None,
    settings: TwoTierSettings | None = None,
    customize: Callable[[TwoTierStorage], None] | None = None,
) -> TwoTierStorage:
    """Plug a :class:`TwoTierStorage` into ``container``, migrate if asked (by default a
    SQLite file only, as for the SQL storage), wire the half-open probe to drain the outbox,
    and return it (:func:`start_relay` starts the relay thread). ``customize`` may override
    providers before anything is built (tests inject faults there). Release it with
    :func:`close_two_tier_storage`."""
    storage = TwoTierStorage(
        policy=container.policy,
        routing_key=container.routing_key,
        clock=container.clock,
        endpoint=endpoint,
        options=options or RedisOptions(),
        database_url=database_url,
        table_prefix=checked_table_prefix(table_prefix),
        engine_settings=engine_settings or SqlEngineSettings(),
        settings=settings or TwoTierSettings(),
    )
    if customize is not None:
        customize(storage)
    engine: Engine = storage.engine()
    try:
        if migrate or (migrate is None and engine.dialect.name == "sqlite"):
            upgrade_schema(engine, table_prefix=table_prefix)
    except BaseException:
        engine.dispose()
        raise
    container.storage.override(storage)
    relay: OutboxRelay = storage.relay()
    storage.guard().drain_before_closing(relay.drain)
    return storage


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
    """Deliver queued events, delete the outbox rows already applied to Redis, close the Redis
    client, dispose of the engine."""
    close_event_publisher(storage.event_publisher())
    database: SessionDatabase = storage.database()
    try:
        database.flush_pending_clears()
    except StoreUnavailable as error:
        # Harmless: another process's relay applies them again (idempotent) and deletes them.
        logger.warning("could not clear applied outbox rows while closing: %s", error)
    near_cache: NearCache[object] | None = storage.near_cache()
    if near_cache is not None:
        near_cache.close()
    client: RedisClient = storage.client()
    client.close()
    engine: Engine = storage.engine()
    engine.dispose()
