"""``bootstrap``: configuration in, a ready :class:`PlatformSessions` out."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Sequence
from typing import Literal

from platform_sessions.adapters.redis import RedisOptions
from platform_sessions.adapters.sqlalchemy import DEFAULT_TABLE_PREFIX, SqlEngineSettings
from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock, EventPublisher
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.container import Container
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.memory_storage import MemoryStorage
from platform_sessions.entrypoints.redis_storage import plug_redis_storage, redis_endpoint_for
from platform_sessions.entrypoints.sql_storage import plug_sql_storage

logger = logging.getLogger(__name__)

ROUTING_KEY_ENV = "PLATFORM_SESSIONS_ROUTING_KEY"

Storage = Literal["memory", "sql", "redis", "fakeredis"]


def bootstrap(
    *,
    storage: Storage = "memory",
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
) -> PlatformSessions:
    """Wire the library and return its facade.

    - ``storage``: where user sessions and platform connections live. ``"memory"`` keeps
      everything in this process (tests, demos, single-process tools).
    - ``policy``: timeouts and limits (defaults: 2 h idle, 7 days absolute, 60 s touch
      interval, 20 sessions per user).
    - ``routing_key``: the server secret behind token routing tags; the same in every process
      and across restarts. Defaults to ``$PLATFORM_SESSIONS_ROUTING_KEY``; for in-memory
      storage a random key is fine, as nothing outlives the process.
    - ``clock``, ``event_publisher``: replace the system clock or the storage's publisher.
    - ``database_url`` (implies ``storage="sql"``): a SQLAlchemy URL, a SQLite file
      (``sqlite:///sessions.db``) or a server (``postgresql+psycopg://...``); its tables are
      named ``<table_prefix>...`` (default ``ps_``). ``migrate`` upgrades them to the current
      schema at once; by default only for SQLite, as a server's schema is a deployment step
      (``upgrade_database``). ``sql_engine`` sizes the pool. ``close()`` disposes the engine.
    - ``redis_url`` or ``redis_cluster_nodes`` (``[("10.0.0.1", 7000), ...]``) (implies
      ``storage="redis"``): user sessions and the platform cache in Redis, platform
      connections in memory; needs a stable ``routing_key``. ``storage="fakeredis"`` is the
      same in this process (fakeredis with Lua). ``redis_options``: key prefix, timeouts
      (0.25 s connect, 0.5 s read by default), pool size. ``close()`` closes the client.
    """
    if database_url is not None and storage == "memory":
        storage = "sql"
    redis_endpoint = redis_endpoint_for(storage, redis_url, redis_cluster_nodes)
    if redis_endpoint is not None and not redis_endpoint.embedded:
        storage = "redis"
        if routing_key is None and not os.environ.get(ROUTING_KEY_ENV):
            # A random key would orphan every session's index at the next restart.
            raise InvalidInput(f"a Redis storage needs a stable routing_key (or ${ROUTING_KEY_ENV})")
    if storage not in ("memory", "sql", "redis", "fakeredis"):
        raise InvalidInput(f"unknown storage {storage!r}")
    if storage == "sql" and database_url is None:
        raise InvalidInput("storage='sql' needs a database_url")
    container = Container(
        policy=policy or SessionPolicy(),
        routing_key=_routing_key(routing_key),
    )
    if clock is not None:
        container.clock.override(clock)
    if event_publisher is not None:
        container.event_publisher.override(event_publisher)
    close_storage = None
    if storage == "sql" and database_url is not None:
        close_storage = plug_sql_storage(
            container,
            database_url=database_url,
            table_prefix=table_prefix,
            engine_settings=sql_engine,
            migrate=migrate,
        )
    elif redis_endpoint is not None:
        close_storage = plug_redis_storage(container, endpoint=redis_endpoint, options=redis_options)
    else:
        container.storage.override(MemoryStorage(policy=container.policy))
    facade: PlatformSessions = container.facade()
    if close_storage is not None:
        facade.add_closer(close_storage)
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
