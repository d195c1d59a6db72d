"""What ``health()`` reports: reachability, the breaker, the outbox, live sessions, counters."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from platform_sessions.adapters.redis import NearCache, RedisClient
from platform_sessions.adapters.redis.near_cache import near_cache_counters
from platform_sessions.adapters.redis.reachability import redis_reachable
from platform_sessions.adapters.two_tier.database import SessionDatabase
from platform_sessions.adapters.two_tier.lag import DatabaseLag
from platform_sessions.adapters.two_tier.metrics import TwoTierMetrics
from platform_sessions.adapters.two_tier.redis_guard import RedisGuard
from platform_sessions.application.storage_operations import StorageHealth
from platform_sessions.domain.errors import StoreUnavailable

logger = logging.getLogger(__name__)


class TwoTierHealth:
    """Builds :class:`StorageHealth` for the two-tier storage (one ping, one short read)."""

    def __init__(
        self,
        *,
        client: RedisClient,
        database: SessionDatabase,
        guard: RedisGuard,
        metrics: TwoTierMetrics,
        lag: DatabaseLag,
        now: Callable[[], datetime],
        near_cache: NearCache[object] | None = None,
    ) -> None:
        self._near_cache = near_cache
        self._client = client
        self._database = database
        self._guard = guard
        self._metrics = metrics
        self._lag = lag
        self._now = now

    def report(self) -> StorageHealth:
        """Reachability of both stores, breaker state, outbox depth (rows whose Redis work is
        still owed) and age, counters."""
        now = self._now()
        redis_ok = redis_reachable(self._client)
        depth: int | None = None
        age: float | None = None
        live: int | None = None
        try:
            # Rows already applied to Redis only wait to be deleted: delete them first, so the
            # depth is the work Redis is still owed.
            self._database.flush_pending_clears()
            with self._database.transaction("report health", read_only=True) as tx:
                stats = tx.outbox.stats()
                live = tx.user_sessions.count_live(now - self._lag.bound)
            depth = stats.depth
            age = (now - stats.oldest_created_at).total_seconds() if stats.oldest_created_at else 0.0
            database_ok = True
        except StoreUnavailable as error:
            logger.warning("health: the database is unreachable: %s", error)
            database_ok = False
        return StorageHealth(
            storage="two-tier",
            # Whether the database answers; bootstrap's checks add Redis (down, it is unhealthy all the
            # same: requests go on, on the database alone, but an operator must hear of it).
            healthy=database_ok,
            redis_reachable=redis_ok,
            database_reachable=database_ok,
            breaker=self._guard.breaker.state.value,
            outbox_depth=depth,
            outbox_age_seconds=age,
            live_sessions=live,
            counters={**self._metrics.snapshot(), **near_cache_counters(self._near_cache)},
        )
