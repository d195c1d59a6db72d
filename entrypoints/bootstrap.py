"""``bootstrap``: configuration in, a ready :class:`PlatformSessions` out."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Sequence
from typing import Literal

from platform_sessions.adapters.redis import RedisEndpoint, RedisOptions
from platform_sessions.adapters.sqlalchemy import DEFAULT_TABLE_PREFIX, SqlEngineSettings
from platform_sessions.adapters.two_tier import TwoTierHealth, TwoTierSettings
from platform_sessions.adapters.two_tier.rewarm import Rewarmer
from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock, EventPublisher
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.container import Container
from platform_sessions.entrypoints.embedded_routing_key import embedded_routing_key
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.memory_storage import MemoryStorage
from platform_sessions.entrypoints.redis_storage import plug_redis_storage, redis_endpoint_for
from platform_sessions.entrypoints.single_store_health import (
    memory_storage_health,
    redis_storage_health,
    sql_storage_health,
)
from platform_sessions.entrypoints.sql_storage import plug_sql_storage
from platform_sessions.entrypoints.two_tier_storage import (
    close_two_tier_storage,
    plug_two_tier_storage,
    start_relay,
)

logger = logging.getLogger(__name__)

ROUTING_KEY_ENV = "PLATFORM_SESSIONS_ROUTING_KEY"
DATABASE_URL_ENV = "PLATFORM_SESSIONS_DATABASE_URL"
DEFAULT_EMBEDDED_DATABASE_URL = "sqlite:///platform-sessions.sqlite3"
# facade.rewarm() waits this long for a rewarm already under way (the relay's, or another process's).
REWARM_WAIT_S = 60.0

Storage = Literal["two-tier", "memory", "sql", "redis", "fakeredis"]
STORAGES = ("two-tier", "memory", "sql", "redis", "fakeredis")


def bootstrap(
    *,
    storage: Storage | None = None,
    policy: SessionPolicy | None = None,
    routing_key: RoutingKey | str | bytes | None = None,
    clock: Clock | None = None,
    event_publisher: EventPublisher | None = None,
    database_url: str | None = None,
    table_prefix: str = DEFAULT_TABLE_PREFIX,
    migrate: bool | None = None,
    sql_engine: SqlEngineSettings | None = None,
    redis_url: str | None = None,
    redis_cluster_nodes: Sequence[tuple[str, int]] | None = None,
    redis_options: RedisOptions | None = None,
    two_tier: TwoTierSettings | None = None,
) -> PlatformSessions:
    """Wire the library and return its facade.

    - ``storage``: where user sessions and platform connections live. By default it follows
      from the other arguments: a Redis endpoint *and* a ``database_url`` give the two-tier
      storage (Redis in front, the database behind: production); only one of them gives
      ``"redis"`` or ``"sql"``; neither gives the **embedded two-tier** storage, the same code
      path on fakeredis (with Lua) and a SQLite file (``$PLATFORM_SESSIONS_DATABASE_URL``, else
      ``sqlite:///platform-sessions.sqlite3`` in the working directory, migrated at once, its
      routing key kept in a file beside it). ``"memory"`` keeps everything in this process
      (tests, single-process tools); ``"fakeredis"`` is the Redis storage in process.
    - ``policy``: timeouts and limits (defaults: 2 h idle, 7 days absolute, 60 s touch
      interval, 20 sessions per user).
    - ``routing_key``: the server secret behind token routing tags; the same in every process
      and across restarts. Defaults to ``$PLATFORM_SESSIONS_ROUTING_KEY``; for in-memory
      storage a random key is fine, as nothing outlives the process.
    - ``clock``, ``event_publisher``: replace the system clock or the storage's publisher.
    - ``database_url``: a SQLAlchemy URL, a SQLite file (``sqlite:///sessions.db``) or a server
      (``postgresql+psycopg://...``); its tables are named ``<table_prefix>...`` (default
      ``ps_``). ``migrate`` upgrades them to the current schema at once; by default only for
      SQLite, as a server's schema is a deployment step (``upgrade_database``). ``sql_engine``
      sizes the pool and bounds every database call (``timeouts=DatabaseTimeouts(...)``).
    - ``redis_url`` or ``redis_cluster_nodes`` (``[("10.0.0.1", 7000), ...]``): needs a stable
      ``routing_key``. ``redis_options``: key prefix, timeouts (0.25 s connect, 0.5 s read by
      default), pool size.
    - ``two_tier``: the breaker, the database touch interval, the relay interval.
    ``close()`` stops the relay and releases clients, pools and engines.
    """
    if storage is not None and storage not in STORAGES:
        raise InvalidInput(f"unknown storage {storage!r}")
    if redis_url is not None and redis_cluster_nodes is not None:
        raise InvalidInput("give either redis_url or redis_cluster_nodes, not both")
    has_redis = redis_url is not None or redis_cluster_nodes is not None
    chosen = storage or _implied_storage(has_redis=has_redis, has_database=database_url is not None)
    if chosen == "two-tier":
        return _bootstrap_two_tier(
            policy=policy,
            routing_key=routing_key,
            clock=clock,
            event_publisher=event_publisher,
            database_url=database_url,
            table_prefix=table_prefix,
            migrate=migrate,
            sql_engine=sql_engine,
            redis_url=redis_url,
            redis_cluster_nodes=redis_cluster_nodes,
            redis_options=redis_options,
            settings=two_tier,
        )
    redis_endpoint = _single_tier_endpoint(
        chosen, has_redis=has_redis, database_url=database_url, redis_url=redis_url, nodes=redis_cluster_nodes
    )
    if redis_endpoint is not None and not redis_endpoint.embedded:
        _require_stable_key(routing_key)
    container = _container(policy, routing_key, clock, event_publisher)
    close_storage = None
    label = chosen
    health = memory_storage_health(label)
    if chosen == "sql" and database_url is not None:
        close_storage = plug_sql_storage(
            container,
            database_url=database_url,
            table_prefix=table_prefix,
            engine_settings=sql_engine,
            migrate=migrate,
        )
        health = sql_storage_health(label, container.storage.sessions())
    elif redis_endpoint is not None:
        close_storage = plug_redis_storage(container, endpoint=redis_endpoint, options=redis_options)
        health = redis_storage_health(label, container.storage.client(), container.storage.near_cache())
    else:
        container.storage.override(MemoryStorage(policy=container.policy))
    facade: PlatformSessions = container.facade()
    if close_storage is not None:
        facade.add_closer(close_storage)
    facade.use_operations(health=health)
    return facade


def _single_tier_endpoint(
    chosen: Storage,
    *,
    has_redis: bool,
    database_url: str | None,
    redis_url: str | None,
    nodes: Sequence[tuple[str, int]] | None,
) -> RedisEndpoint | None:
    """Check the arguments of a one-store storage; its Redis endpoint, if it has one."""
    if chosen == "memory" and (has_redis or database_url is not None):
        raise InvalidInput("storage='memory' takes no redis_url, redis_cluster_nodes or database_url")
    if chosen in ("sql", "fakeredis") and has_redis:
        raise InvalidInput(f"a Redis URL or cluster does not go with storage={chosen!r}")
    if chosen == "redis" and database_url is not None:
        raise InvalidInput(
            "storage='redis' takes no database_url; leave storage out for the two-tier storage"
        )
    if chosen == "sql" and database_url is None:
        raise InvalidInput("storage='sql' needs a database_url")
    return redis_endpoint_for("redis" if has_redis else chosen, redis_url, nodes)


def _implied_storage(*, has_redis: bool, has_database: bool) -> Storage:
    if has_redis and has_database:
        return "two-tier"
    if has_redis:
        return "redis"
    if has_database:
        return "sql"
    return "two-tier"  # embedded: fakeredis + a SQLite file


def _require_stable_key(routing_key: RoutingKey | str | bytes | None) -> None:
    if routing_key is None and not os.environ.get(ROUTING_KEY_ENV):
        # A random key would orphan every session's index at the next restart.
        raise InvalidInput(f"a Redis storage needs a stable routing_key (or ${ROUTING_KEY_ENV})")


def _container(
    policy: SessionPolicy | None,
    routing_key: RoutingKey | str | bytes | None,
    clock: Clock | None,
    event_publisher: EventPublisher | None,
) -> Container:
    container = Container(policy=policy or SessionPolicy(), routing_key=_routing_key(routing_key))
    if clock is not None:
        container.clock.override(clock)
    if event_publisher is not None:
        container.event_publisher.override(event_publisher)
    return container


def _bootstrap_two_tier(
    *,
    policy: SessionPolicy | None,
    routing_key: RoutingKey | str | bytes | None,
    clock: Clock | None,
    event_publisher: EventPublisher | None,
    database_url: str | None,
    table_prefix: str,
    migrate: bool | None,
    sql_engine: SqlEngineSettings | None,
    redis_url: str | None,
    redis_cluster_nodes: Sequence[tuple[str, int]] | None,
    redis_options: RedisOptions | None,
    settings: TwoTierSettings | None,
) -> PlatformSessions:
    if redis_url is not None:
        endpoint = RedisEndpoint.server(redis_url)
    elif redis_cluster_nodes is not None:
        endpoint = RedisEndpoint.cluster(list(redis_cluster_nodes))
    else:
        endpoint = RedisEndpoint.in_process()
    url = database_url or os.environ.get(DATABASE_URL_ENV) or DEFAULT_EMBEDDED_DATABASE_URL
    if not endpoint.embedded:
        _require_stable_key(routing_key)
    elif routing_key is None and not os.environ.get(ROUTING_KEY_ENV):
        routing_key = embedded_routing_key(url)
    container = _container(policy, routing_key, clock, event_publisher)
    storage = plug_two_tier_storage(
        container,
        endpoint=endpoint,
        database_url=url,
        options=redis_options,
        table_prefix=table_prefix,
        engine_settings=sql_engine,
        migrate=migrate,
        settings=settings,
    )
    facade: PlatformSessions = container.facade()
    facade.add_closer(lambda: close_two_tier_storage(storage))
    facade.add_closer(start_relay(storage))  # closers run last-in first-out: the relay stops first
    rewarmer: Rewarmer = storage.rewarmer()
    health: TwoTierHealth = storage.health()
    facade.use_operations(
        health=health.report, rewarm=lambda progress: rewarmer.rewarm(progress, wait_s=REWARM_WAIT_S)
    )
    return facade


def _routing_key(configured: RoutingKey | str | bytes | None) -> RoutingKey:
    if isinstance(configured, RoutingKey):
        return configured
    if isinstance(configured, str):
        return RoutingKey.from_text(configured)
    if isinstance(configured, bytes):
        return RoutingKey(configured)
    from_env = os.environ.get(ROUTING_KEY_ENV)
    if from_env:
        return RoutingKey.from_text(from_env)
    return RoutingKey(secrets.token_bytes(32))
