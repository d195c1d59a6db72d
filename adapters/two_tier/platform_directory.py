"""TwoTierPlatformDirectory: the Redis platform cache over the SQL directory, SQL alone while
Redis is away."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from platform_sessions.adapters.redis import RedisPlatformDirectory
from platform_sessions.adapters.sqlalchemy import SqlAlchemyPlatformDirectory
from platform_sessions.adapters.sqlalchemy.outbox import OutboxEntry
from platform_sessions.adapters.two_tier.database import SessionDatabase
from platform_sessions.adapters.two_tier.redis_guard import RedisGuard, RedisSkipped
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.ports import PlatformDirectory

logger = logging.getLogger(__name__)


class TwoTierPlatformDirectory(PlatformDirectory):
    """Cached reads through the guard; an invalidation Redis cannot take now is recorded in
    the outbox (its own transaction, right after the use case's commit), so the relay or the
    next half-open probe drops the stale entry before Redis is trusted again."""

    def __init__(
        self,
        cached: RedisPlatformDirectory,
        database: SqlAlchemyPlatformDirectory,
        sessions_database: SessionDatabase,
        guard: RedisGuard,
        now: Callable[[], datetime],
    ) -> None:
        self._cached = cached
        self._database = database
        self._sessions_database = sessions_database
        self._guard = guard
        self._now = now

    def get(self, user_id: UserId, platform_id: PlatformId) -> PlatformConnection | None:
        try:
            return self._guard.call(
                "reading cached platforms", lambda: self._cached.get(user_id, platform_id)
            )
        except RedisSkipped:
            return self._database.get(user_id, platform_id)

    def list_for_user(self, user_id: UserId) -> Sequence[PlatformConnection]:
        return self._database.list_for_user(user_id)

    def default_for(self, user_id: UserId) -> PlatformConnection | None:
        try:
            return self._guard.call("reading cached platforms", lambda: self._cached.default_for(user_id))
        except RedisSkipped:
            return self._database.default_for(user_id)

    def invalidate(self, user_id: UserId) -> None:
        try:
            self._guard.call("invalidating cached platforms", lambda: self._cached.invalidate(user_id))
        except RedisSkipped:
            try:
                with self._sessions_database.transaction("record a platform cache invalidation") as tx:
                    tx.outbox.add([OutboxEntry.for_platforms(user_id)], self._now())
            except StoreUnavailable as error:
                # Both stores away: the cache's TTL is the last safety net.
                logger.error("could not record a platform cache invalidation: %s", error)
