"""After a commit: apply the Redis work a change owes, then have its outbox rows cleared.

The rows were written in the change's own transaction. Once Redis has the work, their ids
wait in the storage's :class:`PendingClears` and the next write transaction deletes them on
the side (no transaction of their own; see :mod:`pending_clears` for why a row may safely
wait). If Redis cannot take the work now (breaker open, or the call fails), the rows stay for
the relay or the next half-open probe, and the slot's completeness marker is dropped where
possible, so a session this change created is looked for in the database rather than refused
by an authoritative miss.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime

from platform_sessions.adapters.redis.session_mirror import RedisSessionMirror
from platform_sessions.adapters.sqlalchemy.outbox import OutboxEntry
from platform_sessions.adapters.two_tier.database import SessionDatabase
from platform_sessions.adapters.two_tier.metrics import TwoTierMetrics
from platform_sessions.adapters.two_tier.mirror_work import (
    MirrorWork,
    MirrorWriter,
    PutSession,
    PutSessionData,
    RekeySession,
)
from platform_sessions.adapters.two_tier.redis_guard import RedisGuard, RedisSkipped
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.domain.session import UserSession

logger = logging.getLogger(__name__)


class ChangeRecorder:
    """Runs the after-commit half of every two-tier write."""

    def __init__(
        self,
        database: SessionDatabase,
        writer: MirrorWriter,
        mirror: RedisSessionMirror,
        guard: RedisGuard,
        metrics: TwoTierMetrics,
    ) -> None:
        self._database = database
        self._writer = writer
        self._mirror = mirror
        self._guard = guard
        self._metrics = metrics

    def after_commit(
        self, work: Sequence[MirrorWork], entries: Sequence[OutboxEntry], now: datetime
    ) -> datetime | None:
        """Apply ``work`` to Redis and have ``entries`` cleared; on a Redis failure, leave them.

        Returns the ``last_seen_at`` Redis holds for the last session put (touches live
        there), or ``None``. Never raises for either store: the change is committed already.
        """
        committed_at = time.monotonic()
        try:
            seen = self._guard.call("mirroring a change", lambda: self._writer.apply(work, now))
        except RedisSkipped as skipped:
            self._metrics.increment("mirror_failures")
            # Redis may keep the old state for this change until a drain applies its row:
            # answer only once no process's read lease can predate the commit.
            self._guard.wait_out_leases(committed_at)
            if skipped.attempted:
                # Redis answered other calls a moment ago (the breaker was closed): readers
                # may be using it, so make misses in this slot go to the database. With the
                # breaker open, Redis is not called at all (the probe drains before reads).
                self._unmark_created(work)
            return None
        self._clear_later([e.entry_id for e in entries if e.entry_id is not None])
        return seen

    def refresh(self, session: UserSession, now: datetime) -> bool:
        """Put a session read from the database into Redis (a read-through refill, or a repair
        after a version conflict); ``False`` if Redis could not take it. Never resurrects:
        a tombstone or a newer version in Redis wins."""
        try:
            self._guard.call("refilling a session", lambda: self._writer.apply([PutSession(session)], now))
        except RedisSkipped:
            return False
        self._metrics.increment("refills")
        return True

    def _clear_later(self, entry_ids: list[int]) -> None:
        pending = self._database.pending_clears
        if pending.add(entry_ids):
            return  # the next write transaction deletes them
        try:
            self._database.flush_pending_clears()  # too many wait: clear them now
        except StoreUnavailable as error:
            # Harmless: they wait for the next write; a relay may apply them again meanwhile.
            logger.warning("could not clear outbox rows after mirroring: %s", error)

    def _unmark_created(self, work: Sequence[MirrorWork]) -> None:
        for item in work:
            if isinstance(item, PutSession | PutSessionData | RekeySession):
                try:
                    self._mirror.clear_marker_for(item.session.token_digest)
                except StoreUnavailable:
                    return  # Redis is away for every reader too: they fall back to the database
