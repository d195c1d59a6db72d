"""``bootstrap``: configuration in, a ready :class:`PlatformSessions` out."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from platform_sessions.adapters.system_clock import SystemClock
from platform_sessions.domain.errors import InvalidInput, InvalidSetting
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock, EventPublisher
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.container import StorageBuilder, Wiring
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.settings import (
    DATABASE_URL_ENV,
    DEFAULT_DATABASE_URL,
    ROUTING_KEY_ENV,
    ROUTING_KEY_FILE_ENV,
    STORAGES,
    Settings,
    StoragePlan,
    plan_storage,
)
from platform_sessions.entrypoints.sqlite_file import embedded_routing_key, keeps_key_file

if TYPE_CHECKING:  # the stores' libraries load only with the builder that needs them
    from platform_sessions.adapters.redis import RedisOptions
    from platform_sessions.adapters.sqlalchemy import SqlEngineSettings
    from platform_sessions.adapters.two_tier import TwoTierSettings
    from platform_sessions.entrypoints.redis_storage import RedisStorageBuilder

__all__ = ["DATABASE_URL_ENV", "DEFAULT_DATABASE_URL", "ROUTING_KEY_ENV", "STORAGES", "Storage", "bootstrap"]

Storage = Literal["two-tier", "memory", "sql", "redis", "fakeredis"]
"""The storages ``bootstrap`` knows by name (shortcuts for their builders)."""


def bootstrap(
    *,
    storage: Storage | StorageBuilder | None = None,
    policy: SessionPolicy | None = None,
    routing_key: RoutingKey | str | bytes | None = None,
    clock: Clock | None = None,
    event_publisher: EventPublisher | None = None,
    database_url: str | None = None,
    table_prefix: str | None = None,
    migrate: bool | None = None,
    sql_engine: SqlEngineSettings | None = None,
    redis_url: str | None = None,
    redis_cluster_nodes: Sequence[tuple[str, int]] | None = None,
    redis_options: RedisOptions | None = None,
    two_tier: TwoTierSettings | None = None,
    settings: Settings | None = None,
) -> PlatformSessions:
    """Wire the library and return its facade.

    - ``settings``: where the stores are and the routing key; by default
      ``Settings.from_environment()`` (``PLATFORM_SESSIONS_REDIS_URL``, ``_REDIS_CLUSTER_NODES``,
      ``_DATABASE_URL``, ``_ROUTING_KEY`` or ``_ROUTING_KEY_FILE``, ``_TABLE_PREFIX``), the same
      reading the command line makes. The arguments below override it; code that names a store
      (``redis_url``, ``redis_cluster_nodes``, ``database_url``) gets exactly that store, never
      combined with one from the environment.
    - ``storage``: where user sessions and platform connections live: a builder
      (``SqlStorageBuilder(database_url=...)``, ``TwoTierStorageBuilder(...)``, or any object
      with ``open(wiring) -> OpenStorage``, see ``entrypoints/container.py``), which then takes
      the stores and their options itself, or one of these names. By default it follows
      from the stores named: a Redis endpoint *and* a database give the two-tier storage (Redis
      in front, the database behind: production); only one of them gives ``"redis"`` or
      ``"sql"``; **neither gives the SQL storage on a SQLite file** in the working directory
      (``platform-sessions.sqlite3``, migrated at once, its routing key kept in a file beside
      it), correct however many processes share it. ``"two-tier"`` without a Redis server is
      the embedded two-tier storage (fakeredis in this process in front of the database: one
      process only, the demo's); ``"memory"`` keeps everything in this process (tests,
      single-process tools); ``"fakeredis"`` is the Redis storage in process.
    - ``policy``: timeouts and limits (defaults: 2 h idle, 7 days absolute, 60 s touch
      interval, 20 sessions per user); without it, the settings' policy
      (``PLATFORM_SESSIONS_IDLE_TIMEOUT=2h`` and the other policy variables), else the defaults.
    - ``routing_key``: the server secret behind token routing tags; the same in every process
      and across restarts (its fingerprint is stored beside the data, and a process with
      another key refuses to start). A Redis server needs one; a SQLite file gets one kept
      beside it; in memory a random key is fine, as nothing outlives the process.
    - ``clock``, ``event_publisher``: replace the system clock or the storage's publisher.
    - ``database_url``: a SQLAlchemy URL, a SQLite file (``sqlite:///sessions.db``) or a server
      (``postgresql+psycopg://...``); its tables are named ``<table_prefix>...`` (default
      ``ps_``). ``migrate`` upgrades them to the current schema at once; by default only for
      SQLite, as a server's schema is a deployment step (``upgrade_database``). ``sql_engine``
      sizes the pool and bounds every database call (``timeouts=DatabaseTimeouts(...)``).
    - ``redis_url`` or ``redis_cluster_nodes`` (``[("10.0.0.1", 7000), ...]``).
      ``redis_options``: key prefix, timeouts (0.25 s connect, 0.5 s read by default), pool size.
    - ``two_tier``: the breaker, the database touch interval, the relay interval.

    Before returning, the configured stores are checked: a store holding another routing key's
    data, a read-only replica or standby, or an endpoint that does not speak Redis raises
    :class:`MisconfiguredStore`; a store that does not answer (or is not migrated yet) is
    logged and reported by ``health()``. ``close()`` stops the relay and releases clients,
    pools and engines.
    """
    stores = {
        "redis_url": redis_url,
        "redis_cluster_nodes": redis_cluster_nodes,
        "database_url": database_url,
    }
    options = {
        "table_prefix": table_prefix,
        "migrate": migrate,
        "sql_engine": sql_engine,
        "redis_options": redis_options,
        "two_tier": two_tier,
    }
    if storage is None or isinstance(storage, str):
        _refuse_misfits(storage, redis_url, redis_cluster_nodes, database_url)
    elif misplaced := [name for name, value in {**stores, **options}.items() if value is not None]:
        raise InvalidInput(f"a storage builder takes its own stores and options, not {', '.join(misplaced)}")
    configured = settings if settings is not None else Settings.from_environment()
    if routing_key is not None:
        configured = configured.with_routing_key(_routing_key(routing_key), "routing_key=")
    if storage is None or isinstance(storage, str):
        if any(value is not None for value in stores.values()):
            configured = configured.with_stores(
                redis_url=redis_url, redis_cluster_nodes=redis_cluster_nodes, database_url=database_url
            )
        if table_prefix is not None:
            configured = configured.with_table_prefix(table_prefix, "table_prefix=")
        plan = plan_storage(configured, storage)
        key, stable = _chosen_routing_key(plan, configured)
        builder = _builder_for(
            plan,
            table_prefix=configured.table_prefix,
            migrate=migrate,
            sql_engine=sql_engine,
            redis_options=redis_options,
            two_tier=two_tier,
        )
    else:
        builder = storage
        # A builder's stores may outlive the process: a configured key is kept and checked.
        stable = configured.routing_key is not None
        key = configured.routing_key or RoutingKey(secrets.token_bytes(32))
    # An explicit policy is the whole policy, as named stores are: the environment's is not merged in.
    policy = policy or configured.policy or SessionPolicy()
    wiring = Wiring(
        policy=policy,
        routing_key=key,
        clock=clock or SystemClock(),
        fingerprint=key.fingerprint() if stable else None,
        event_publisher=event_publisher,
    )
    return PlatformSessions(builder.open(wiring), policy=policy, routing_key=key)


def _refuse_misfits(
    storage: str | None,
    redis_url: str | None,
    nodes: Sequence[tuple[str, int]] | None,
    database_url: str | None,
) -> None:
    """Refuse explicit arguments the named storage would ignore (the environment's are simply
    not used by a storage that does not take them)."""
    if storage is not None and storage not in STORAGES:
        raise InvalidInput(f"unknown storage {storage!r}")
    has_redis = redis_url is not None or nodes is not None
    if redis_url is not None and nodes is not None:
        raise InvalidInput("give either redis_url or redis_cluster_nodes, not both")
    if storage == "memory" and (has_redis or database_url is not None):
        raise InvalidInput("storage='memory' takes no redis_url, redis_cluster_nodes or database_url")
    if storage in ("sql", "fakeredis") and has_redis:
        raise InvalidInput(f"a Redis URL or cluster does not go with storage={storage!r}")
    if storage == "fakeredis" and database_url is not None:
        raise InvalidInput("storage='fakeredis' takes no database_url")
    if storage == "redis" and database_url is not None:
        raise InvalidInput(
            "storage='redis' takes no database_url; leave storage out for the two-tier storage"
        )


def _builder_for(
    plan: StoragePlan,
    *,
    table_prefix: str,
    migrate: bool | None,
    sql_engine: SqlEngineSettings | None,
    redis_options: RedisOptions | None,
    two_tier: TwoTierSettings | None,
) -> StorageBuilder:
    """The builder of the storage ``plan`` names, on its stores (imported here: a store's
    library loads only when that store is used)."""
    if plan.storage == "memory":
        from platform_sessions.entrypoints.memory_storage import MemoryStorageBuilder

        return MemoryStorageBuilder()
    if plan.database_url is None:  # "redis" or "fakeredis"
        return _redis_builder(plan, redis_options)
    from platform_sessions.adapters.sqlalchemy import SqlEngineSettings
    from platform_sessions.entrypoints.sql_storage import SqlStorageBuilder

    sql = SqlStorageBuilder(
        database_url=plan.database_url,
        table_prefix=table_prefix,
        engine_settings=sql_engine or SqlEngineSettings(),
        migrate=migrate,
    )
    if plan.storage == "sql":
        return sql
    from platform_sessions.adapters.two_tier import TwoTierSettings
    from platform_sessions.entrypoints.two_tier_storage import TwoTierStorageBuilder

    return TwoTierStorageBuilder(
        redis=_redis_builder(plan, redis_options), sql=sql, settings=two_tier or TwoTierSettings()
    )


def _redis_builder(plan: StoragePlan, options: RedisOptions | None) -> RedisStorageBuilder:
    from platform_sessions.adapters.redis import RedisEndpoint, RedisOptions
    from platform_sessions.entrypoints.redis_storage import RedisStorageBuilder

    if plan.redis_url is not None:
        endpoint = RedisEndpoint.server(plan.redis_url)
    elif plan.redis_cluster_nodes is not None:
        endpoint = RedisEndpoint.cluster(list(plan.redis_cluster_nodes))
    else:
        endpoint = RedisEndpoint.in_process()
    return RedisStorageBuilder(endpoint=endpoint, options=options or RedisOptions())


def _chosen_routing_key(plan: StoragePlan, settings: Settings) -> tuple[RoutingKey, bool]:
    """The routing key, and whether it outlives this process (then its fingerprint is checked)."""
    if settings.routing_key is not None:
        return settings.routing_key, True
    if plan.has_redis_server:
        # A random key would orphan every session's index at the next restart.
        raise InvalidSetting(
            "routing key",
            f"a Redis storage needs a stable routing key: give routing_key= (--routing-key-file on the "
            f"command line), ${ROUTING_KEY_ENV} "
            f"or ${ROUTING_KEY_FILE_ENV}",
        )
    if plan.database_url is not None and keeps_key_file(plan.database_url):
        return embedded_routing_key(plan.database_url), True
    # Memory, fakeredis, or a database server without Redis: no key to keep.
    return RoutingKey(secrets.token_bytes(32)), False


def _routing_key(configured: RoutingKey | str | bytes) -> RoutingKey:
    if isinstance(configured, RoutingKey):
        return configured
    if isinstance(configured, str):
        return RoutingKey.from_text(configured)
    return RoutingKey(configured)
