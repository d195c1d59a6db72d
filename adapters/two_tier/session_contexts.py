"""TwoTierSessionContextQuery: resolve from Redis in one round trip, the database when needed.

- Redis has the session: one round trip, as in the Redis storage; the database is written
  only when the touch enters a new database touch interval.
- Redis misses in a slot known complete (its marker is there): the miss is authoritative, no
  database query, so random or revoked tokens cannot load the database.
- Redis misses otherwise, fails, or the breaker is open: the database answers (its
  ``last_seen_at`` credited its lag), and a live session is written back to Redis (refill).
"""

from __future__ import annotations

import logging
from datetime import datetime

from platform_sessions.adapters.redis.session_contexts import RedisSessionContextQuery, ResolveReply
from platform_sessions.adapters.sqlalchemy import SqlAlchemyPlatformDirectory
from platform_sessions.adapters.two_tier.change_recorder import ChangeRecorder
from platform_sessions.adapters.two_tier.database import SessionDatabase
from platform_sessions.adapters.two_tier.lag import DatabaseLag
from platform_sessions.adapters.two_tier.metrics import TwoTierMetrics
from platform_sessions.adapters.two_tier.redis_guard import RedisGuard, RedisSkipped
from platform_sessions.adapters.two_tier.user_sessions import TwoTierUserSessionRepository
from platform_sessions.domain.context import SessionSnapshot
from platform_sessions.domain.ids import PlatformId
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import SessionContextQuery
from platform_sessions.domain.token import TokenDigest

logger = logging.getLogger(__name__)


class TwoTierSessionContextQuery(SessionContextQuery):
    """See the module docstring and architecture.md, "Two tiers"."""

    def __init__(
        self,
        *,
        redis_query: RedisSessionContextQuery,
        sessions: TwoTierUserSessionRepository,
        database: SessionDatabase,
        platforms: SqlAlchemyPlatformDirectory,
        recorder: ChangeRecorder,
        guard: RedisGuard,
        metrics: TwoTierMetrics,
        lag: DatabaseLag,
        policy: SessionPolicy,
    ) -> None:
        self._redis = redis_query
        self._sessions = sessions
        self._database = database
        self._platforms = platforms
        self._recorder = recorder
        self._guard = guard
        self._metrics = metrics
        self._lag = lag
        self._policy = policy

    def load(
        self,
        digest: TokenDigest,
        *,
        now: datetime,
        requested_platform_id: PlatformId | None = None,
    ) -> SessionSnapshot | None:
        self._metrics.increment("resolves")
        try:
            reply = self._guard.read(
                "resolving a session",
                lambda: self._redis.read(digest, now=now, requested_platform_id=requested_platform_id),
            )
        except RedisSkipped:
            return self._from_database(digest, now, requested_platform_id, refill=False)
        if reply.snapshot is not None:
            if reply.seen_before is not None:  # None: not touched by this call (a near cache hit)
                self._touch_database_if_due(reply, now)
            return reply.snapshot
        if reply.undecodable:
            self._metrics.increment("undecodable_records")
        self._metrics.increment("redis_misses")
        if reply.complete and self._guard.misses_are_authoritative():
            self._metrics.increment("authoritative_misses")
            return None
        return self._from_database(digest, now, requested_platform_id, refill=True)

    def _touch_database_if_due(self, reply: ResolveReply, now: datetime) -> None:
        snapshot = reply.snapshot
        if snapshot is None or reply.seen_before is None or snapshot.session.last_seen_at != now:
            return  # not touched by this call
        if self._lag.crosses_boundary(reply.seen_before, now):
            self._sessions.touch_database(snapshot.session, now)

    def _from_database(
        self, digest: TokenDigest, now: datetime, requested: PlatformId | None, *, refill: bool
    ) -> SessionSnapshot | None:
        self._metrics.increment("database_fallbacks")
        with self._database.transaction("resolve a session from the database", read_only=True) as tx:
            stored = tx.user_sessions.get(digest)
        if stored is None:
            return None
        session = self._lag.credit(stored, now)
        if session.expiry_reason(now, self._policy) is not None:
            return SessionSnapshot(session)  # the caller judges, as with any store
        if stored.is_touch_due(now, self._policy):
            # This request is activity: record it where it will survive (Redis may be away).
            with self._database.transaction("touch a session") as tx:
                touched = tx.user_sessions.touch(stored, now)
            if touched is None:
                return None  # ended meanwhile
            session = touched
        if refill:
            self._recorder.refresh(session, now)
        if session.user_id is None:
            return SessionSnapshot(session)  # an anonymous session has no platforms
        platforms = {p.id: p for p in self._platforms.list_for_user(session.logged_in_user_id)}
        default = next((p for p in platforms.values() if p.is_default), None)
        return SessionSnapshot(
            session=session,
            active_platform=platforms.get(session.active_platform_id) if session.active_platform_id else None,
            default_platform=default,
            requested_platform=platforms.get(requested) if requested else None,
        )
