"""``health()`` of the storages with one store: whether that store answers, checked now.

The two-tier storage reports more (breaker, outbox, counters: ``TwoTierHealth``); a storage of
one store is healthy exactly when its store answers, and the in-memory one always is.
"""

from __future__ import annotations

from collections.abc import Callable

from platform_sessions.adapters.redis import NearCache, RedisClient
from platform_sessions.adapters.redis.near_cache import near_cache_counters
from platform_sessions.adapters.redis.reachability import redis_reachable
from platform_sessions.adapters.sqlalchemy import DatabaseSessionFactory
from platform_sessions.adapters.sqlalchemy.reachability import database_reachable
from platform_sessions.adapters.two_tier import StorageHealth

HealthReport = Callable[[], StorageHealth]


def redis_storage_health(
    label: str, client: RedisClient, near_cache: NearCache[object] | None = None
) -> HealthReport:
    """One PING per report, and the near cache's counters."""

    def report() -> StorageHealth:
        reachable = redis_reachable(client)
        return StorageHealth(
            storage=label,
            healthy=reachable,
            redis_reachable=reachable,
            counters=near_cache_counters(near_cache),
        )

    return report


def sql_storage_health(label: str, database_sessions: DatabaseSessionFactory) -> HealthReport:
    """One ``SELECT 1`` per report."""

    def report() -> StorageHealth:
        reachable = database_reachable(database_sessions)
        return StorageHealth(storage=label, healthy=reachable, database_reachable=reachable)

    return report


def memory_storage_health(label: str) -> HealthReport:
    """Nothing to reach: always healthy."""
    return lambda: StorageHealth(storage=label, healthy=True)
