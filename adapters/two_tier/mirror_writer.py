"""Applies :mod:`mirror_work` to Redis (no breaker here: callers go through the guard)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from platform_sessions.adapters.redis.platform_cache import RedisPlatformCache
from platform_sessions.adapters.redis.session_mirror import RedisSessionMirror
from platform_sessions.adapters.two_tier.mirror_work import (
    DropPlatforms,
    ForgetSessions,
    MirrorWork,
    PutSession,
    PutSessionData,
    RotateSession,
)


class MirrorWriter:
    """One script per item. Sessions are put as given: whoever read them from the database
    alone (refill, relay, rewarm) credits them the database's lag first (``DatabaseLag``)."""

    def __init__(self, mirror: RedisSessionMirror, cache: RedisPlatformCache) -> None:
        self._mirror = mirror
        self._cache = cache

    def apply(self, work: Sequence[MirrorWork], now: datetime) -> datetime | None:
        """Bring Redis in line with every item, in order; raises StoreUnavailable on a Redis
        failure. Returns the ``last_seen_at`` Redis holds for the last session put, if any."""
        seen: datetime | None = None
        for item in work:
            if isinstance(item, PutSession):
                seen = self._mirror.put(item.session, now).last_seen_at
            elif isinstance(item, PutSessionData):
                seen = self._mirror.put_data(item.session, item.changes, now).last_seen_at
            elif isinstance(item, ForgetSessions):
                self._mirror.forget(item.user_id, item.ended, now)
            elif isinstance(item, RotateSession):
                seen = self._mirror.rotate(item.old, item.session, now).last_seen_at
            elif isinstance(item, DropPlatforms):
                self._cache.invalidate(item.user_id)
        return seen
