"""Drains the outbox: Redis work that committed changes still owe.

Rows are left behind when Redis failed after a commit, or the process died between its commit
and its Redis write. The relay does not replay what a row once said: it brings Redis in line
with what the database says now about that digest (the session if it is still there, else a
forget with its tombstone), which is idempotent and order-free. Rows are claimed with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so relays of several processes share the work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from platform_sessions.adapters.redis.session_mirror import EndedSession
from platform_sessions.adapters.sqlalchemy.outbox import OutboxEntry, OutboxKind
from platform_sessions.adapters.two_tier.database import DatabaseTransaction, SessionDatabase
from platform_sessions.adapters.two_tier.lag import DatabaseLag
from platform_sessions.adapters.two_tier.metrics import TwoTierMetrics
from platform_sessions.adapters.two_tier.mirror_work import (
    DropPlatforms,
    ForgetSessions,
    MirrorWork,
    MirrorWriter,
    PutSession,
)
from platform_sessions.domain.errors import StoreUnavailable

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
# One drain handles at most this many batches; the next tick takes the rest.
MAX_BATCHES = 50


class OutboxBacklog(StoreUnavailable):
    """A drain stopped at its batch limit with rows still owed (Redis cannot be trusted yet)."""


class OutboxRelay:
    """One drain: claim a batch, bring Redis in line, delete the batch; repeat while full."""

    def __init__(
        self,
        database: SessionDatabase,
        writer: MirrorWriter,
        metrics: TwoTierMetrics,
        lag: DatabaseLag,
        now: Callable[[], datetime],
    ) -> None:
        self._lag = lag
        self._database = database
        self._writer = writer
        self._metrics = metrics
        self._now = now

    def drain(self) -> int:
        """Relay every row committed before the drain began; returns how many. Rows another
        transaction holds (another relay applying them, a writer deleting rows it applied) are
        waited for, not skipped: when this returns, every row older than the drain is applied,
        which is what a read lease (``RedisGuard.renew_lease``) and a probe rely on. Raises
        StoreUnavailable (either store), or ``OutboxBacklog`` when rows remain after the last
        batch allowed."""
        relayed = 0
        newest: int | None = None
        for _ in range(MAX_BATCHES):
            with self._database.transaction("relay the outbox") as tx:
                if newest is None:
                    newest = tx.outbox.newest_id()
                entries = tx.outbox.claim(BATCH_SIZE, up_to=newest, wait=True)
                if not entries:
                    break
                now = self._now()
                # Redis is written while the rows stay locked, so two relays never race on them.
                self._writer.apply(_current_work(tx, entries, self._lag, now), now)
                tx.outbox.clear([e.entry_id for e in entries if e.entry_id is not None])
            relayed += len(entries)
        else:
            limit = MAX_BATCHES * BATCH_SIZE
            raise OutboxBacklog(f"more than {limit} outbox rows wait; the next drain goes on")
        if relayed:
            self._metrics.increment("relayed", relayed)
            logger.info("relayed %d outbox rows to Redis", relayed)
        return relayed


def _current_work(
    tx: DatabaseTransaction, entries: Sequence[OutboxEntry], lag: DatabaseLag, now: datetime
) -> list[MirrorWork]:
    """What Redis must look like for each row's digest or user, as the database says now."""
    work: list[MirrorWork] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.kind is OutboxKind.PLATFORMS:
            if entry.user_id is not None:  # always: a platform cache is a user's
                work.append(DropPlatforms(entry.user_id))
            continue
        digest = entry.token_digest
        if digest is None or digest.hex in seen:
            continue
        seen.add(digest.hex)
        stored = tx.user_sessions.get(digest)
        if stored is not None and stored.user_id == entry.user_id:
            work.append(PutSession(lag.credit(stored, now)))
        elif entry.absolute_expires_at is not None:
            work.append(ForgetSessions(entry.user_id, (EndedSession(digest, entry.absolute_expires_at),)))
    return work
