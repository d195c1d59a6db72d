"""``bootstrap``: configuration in, a ready :class:`PlatformSessions` out."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from platform_sessions.adapters.redis import RedisClient, RedisEndpoint, RedisOptions
from platform_sessions.adapters.redis.reachability import verify_redis
from platform_sessions.adapters.sqlalchemy import DatabaseSessionFactory, SqlEngineSettings, SqlTables
from platform_sessions.adapters.sqlalchemy.reachability import verify_database
from platform_sessions.adapters.two_tier import TwoTierHealth, TwoTierSettings
from platform_sessions.adapters.two_tier.rewarm import Rewarmer
from platform_sessions.domain.errors import InvalidInput, InvalidSetting
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock, EventPublisher
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.container import Container
from platform_sessions.entrypoints.embedded_lock import hold_sqlite_file
from platform_sessions.entrypoints.embedded_routing_key import embedded_routing_key, keeps_key_file
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.memory_storage import MemoryStorage
from platform_sessions.entrypoints.redis_storage import plug_redis_storage
from platform_sessions.entrypoints.settings import (
    DATABASE_URL_ENV,
    DEFAULT_DATABASE_URL,
    ROUTING_KEY_ENV,
    ROUTING_KEY_FILE_ENV,
    STORAGES,
    Settings,
    StoragePlan,
    described_database,
    plan_storage,
)
from platform_sessions.entrypoints.single_store_health import (
    HealthReport,
    memory_storage_health,
    redis_storage_health,
    sql_storage_health,
)
from platform_sessions.entrypoints.sql_storage import plug_sql_storage
from platform_sessions.entrypoints.store_checks import StoreCheck, check_while_starting, checked_health
from platform_sessions.entrypoints.two_tier_storage import (
    close_two_tier_storage,
    plug_two_tier_storage,
    start_relay,
)

logger = logging.getLogger(__name__)

__all__ = ["DATABASE_URL_ENV", "DEFAULT_DATABASE_URL", "ROUTING_KEY_ENV", "STORAGES", "Storage", "bootstrap"]

DEFAULT_EMBEDDED_DATABASE_URL = DEFAULT_DATABASE_URL  # the name before the SQL default
# facade.rewarm() waits this long for a rewarm already under way (the relay's, or another process's).
REWARM_WAIT_S = 60.0

T = TypeVar("T")

Storage = Literal["two-tier", "memory", "sql", "redis", "fakeredis"]


def bootstrap(
    *,
    storage: Storage | None = None,
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
    - ``storage``: where user sessions and platform connections live. By default it follows
      from the stores named: a Redis endpoint *and* a database give the two-tier storage (Redis
      in front, the database behind: production); only one of them gives ``"redis"`` or
      ``"sql"``; **neither gives the SQL storage on a SQLite file** in the working directory
      (``platform-sessions.sqlite3``, migrated at once, its routing key kept in a file beside
      it), correct however many processes share it. ``"two-tier"`` without a Redis server is
      the embedded two-tier storage (fakeredis in this process in front of the database: one
      process only, the demo's); ``"memory"`` keeps everything in this process (tests,
      single-process tools); ``"fakeredis"`` is the Redis storage in process.
    - ``policy``: timeouts and limits (defaults: 2 h idle, 7 days absolute, 60 s touch
      interval, 20 sessions per user).
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
    if storage is not None and storage not in STORAGES:
        raise InvalidInput(f"unknown storage {storage!r}")
    if redis_url is not None and redis_cluster_nodes is not None:
        raise InvalidInput("give either redis_url or redis_cluster_nodes, not both")
    _check_arguments_fit(storage, redis_url, redis_cluster_nodes, database_url)
    configured = settings if settings is not None else Settings.from_environment()
    if redis_url is not None or redis_cluster_nodes is not None or database_url is not None:
        configured = configured.with_stores(
            redis_url=redis_url, redis_cluster_nodes=redis_cluster_nodes, database_url=database_url
        )
    if routing_key is not None:
        configured = configured.with_routing_key(_routing_key(routing_key), "routing_key=")
    if table_prefix is not None:
        configured = configured.with_table_prefix(table_prefix, "table_prefix=")
    plan = plan_storage(configured, storage)
    key, stable = _chosen_routing_key(plan, configured)
    container = _container(policy, key, clock, event_publisher)
    fingerprint = key.fingerprint() if stable else None
    if plan.storage == "two-tier":
        return _bootstrap_two_tier(
            container,
            plan,
            fingerprint=fingerprint,
            table_prefix=configured.table_prefix,
            migrate=migrate,
            sql_engine=sql_engine,
            redis_options=redis_options,
            settings=two_tier,
        )
    close_storage, health, checks = _plug_one_store(
        container,
        plan,
        fingerprint=fingerprint,
        table_prefix=configured.table_prefix,
        migrate=migrate,
        sql_engine=sql_engine,
        redis_options=redis_options,
    )
    facade: PlatformSessions = container.facade()
    if close_storage is not None:
        facade.add_closer(close_storage)
    try:
        check_while_starting(checks, plan.description)
    except BaseException:
        facade.close()
        raise
    facade.use_operations(health=checked_health(health, checks, plan.description))
    return facade


def _plug_one_store(
    container: Container,
    plan: StoragePlan,
    *,
    fingerprint: str | None,
    table_prefix: str,
    migrate: bool | None,
    sql_engine: SqlEngineSettings | None,
    redis_options: RedisOptions | None,
) -> tuple[Callable[[], None] | None, HealthReport, list[StoreCheck]]:
    """Plug the memory, SQL or Redis storage; what closes it, its health report, its checks."""
    close_storage: Callable[[], None] | None = None
    health = memory_storage_health(plan.storage)
    checks: list[StoreCheck] = []
    if plan.storage == "sql":
        assert plan.database_url is not None
        database_url = plan.database_url
        close_engine, release = _holding_sqlite_file(
            database_url,
            exclusive=False,
            plug=lambda: plug_sql_storage(
                container,
                database_url=database_url,
                table_prefix=table_prefix,
                engine_settings=sql_engine,
                migrate=migrate,
            ),
        )
        close_storage = _in_turn(close_engine, release)
        database_sessions: DatabaseSessionFactory = container.storage.database_sessions()
        health = sql_storage_health(plan.storage, database_sessions)
        checks.append(_database_check(database_sessions, container.storage.tables(), plan, fingerprint))
    elif plan.storage in ("redis", "fakeredis"):
        options = redis_options or RedisOptions()
        close_storage = plug_redis_storage(container, endpoint=_endpoint(plan), options=options)
        client: RedisClient = container.storage.client()
        health = redis_storage_health(plan.storage, client, container.storage.near_cache())
        if not plan.embedded_redis:
            checks.append(_redis_check(client, plan, options, fingerprint))
    else:
        container.storage.override(MemoryStorage(policy=container.policy))
    return close_storage, health, checks


def _check_arguments_fit(
    storage: str | None,
    redis_url: str | None,
    nodes: Sequence[tuple[str, int]] | None,
    database_url: str | None,
) -> None:
    """Refuse explicit arguments the chosen storage would ignore (the environment's are
    simply not used by a storage that does not take them)."""
    has_redis = redis_url is not None or nodes is not None
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


def _endpoint(plan: StoragePlan) -> RedisEndpoint:
    if plan.redis_url is not None:
        return RedisEndpoint.server(plan.redis_url)
    if plan.redis_cluster_nodes is not None:
        return RedisEndpoint.cluster(list(plan.redis_cluster_nodes))
    return RedisEndpoint.in_process()


def _redis_check(
    client: RedisClient, plan: StoragePlan, options: RedisOptions, fingerprint: str | None
) -> StoreCheck:
    where = _endpoint(plan).describe()
    return lambda: verify_redis(client, where=where, prefix=options.key_prefix, fingerprint=fingerprint)


def _database_check(
    database_sessions: DatabaseSessionFactory, tables: SqlTables, plan: StoragePlan, fingerprint: str | None
) -> StoreCheck:
    assert plan.database_url is not None
    where = described_database(plan.database_url)
    return lambda: verify_database(database_sessions, tables, where=where, fingerprint=fingerprint)


def _container(
    policy: SessionPolicy | None,
    routing_key: RoutingKey,
    clock: Clock | None,
    event_publisher: EventPublisher | None,
) -> Container:
    container = Container(policy=policy or SessionPolicy(), routing_key=routing_key)
    if clock is not None:
        container.clock.override(clock)
    if event_publisher is not None:
        container.event_publisher.override(event_publisher)
    return container


def _bootstrap_two_tier(
    container: Container,
    plan: StoragePlan,
    *,
    fingerprint: str | None,
    table_prefix: str,
    migrate: bool | None,
    sql_engine: SqlEngineSettings | None,
    redis_options: RedisOptions | None,
    settings: TwoTierSettings | None,
) -> PlatformSessions:
    assert plan.database_url is not None
    options = redis_options or RedisOptions()
    database_url = plan.database_url
    # Embedded, Redis lives in this process: no other process may share the file.
    storage, release = _holding_sqlite_file(
        database_url,
        exclusive=plan.embedded_redis,
        plug=lambda: plug_two_tier_storage(
            container,
            endpoint=_endpoint(plan),
            database_url=database_url,
            options=options,
            table_prefix=table_prefix,
            engine_settings=sql_engine,
            migrate=migrate,
            settings=settings,
        ),
    )
    facade: PlatformSessions = container.facade()
    facade.add_closer(release)
    facade.add_closer(lambda: close_two_tier_storage(storage))
    # The database first: it is the record, and its fingerprint outlives a Redis restart.
    checks = [_database_check(storage.database_sessions(), storage.tables(), plan, fingerprint)]
    if not plan.embedded_redis:
        checks.append(_redis_check(storage.client(), plan, options, fingerprint))
    try:
        check_while_starting(checks, plan.description)
    except BaseException:
        facade.close()
        raise
    facade.add_closer(start_relay(storage))  # closers run last-in first-out: the relay stops first
    rewarmer: Rewarmer = storage.rewarmer()
    health: TwoTierHealth = storage.health()
    facade.use_operations(
        health=checked_health(health.report, checks, plan.description),
        rewarm=lambda progress: rewarmer.rewarm(progress, wait_s=REWARM_WAIT_S),
    )
    return facade


def _holding_sqlite_file(
    database_url: str, *, exclusive: bool, plug: Callable[[], T]
) -> tuple[T, Callable[[], None]]:
    """``plug()`` while holding the SQLite file's lock (a no-op for other databases); what it
    built and what releases the lock. A failing ``plug`` releases it at once."""
    release = hold_sqlite_file(database_url, exclusive=exclusive)
    try:
        return plug(), release
    except BaseException:
        release()
        raise


def _in_turn(*closers: Callable[[], None]) -> Callable[[], None]:
    def close() -> None:
        for closer in closers:
            closer()

    return close


def _routing_key(configured: RoutingKey | str | bytes) -> RoutingKey:
    if isinstance(configured, RoutingKey):
        return configured
    if isinstance(configured, str):
        return RoutingKey.from_text(configured)
    return RoutingKey(configured)
