"""Rewarm: load every live session from the database into Redis, then mark Redis complete.

Order matters: drain the outbox (changes before the load), load page by page with ``put``
(versions and tombstones keep anything newer or ended), drain again (changes during the load),
and only then set the completeness markers. One process at a time, under a Redis lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from math import ceil

from platform_sessions.adapters.redis.session_mirror import RedisSessionMirror
from platform_sessions.adapters.two_tier.database import SessionDatabase
from platform_sessions.adapters.two_tier.lag import DatabaseLag
from platform_sessions.adapters.two_tier.metrics import TwoTierMetrics
from platform_sessions.adapters.two_tier.mirror_work import MirrorWriter, PutSession
from platform_sessions.adapters.two_tier.outbox_relay import OutboxRelay

logger = logging.getLogger(__name__)

PAGE_SIZE = 500
LOCK_MS = 120_000
LOCK_POLL_S = 0.05
# Sessions started during the load come on top of the count; they are mirrored by their own
# writers, so a few extra pages is all the loop ever needs.
EXTRA_PAGES = 10

Progress = Callable[[int, int], None]


class RewarmBusy(Exception):
    """Another process holds the rewarm lock."""


class Rewarmer:
    """See the module docstring."""

    def __init__(
        self,
        *,
        database: SessionDatabase,
        mirror: RedisSessionMirror,
        writer: MirrorWriter,
        relay: OutboxRelay,
        metrics: TwoTierMetrics,
        lag: DatabaseLag,
        now: Callable[[], datetime],
    ) -> None:
        self._database = database
        self._mirror = mirror
        self._writer = writer
        self._relay = relay
        self._metrics = metrics
        self._lag = lag
        self._now = now

    def rewarm(self, progress: Progress | None = None, *, wait_s: float = 0.0) -> int:
        """Load every live session; returns how many. Waits up to ``wait_s`` for another
        rewarm (this process's relay, another process) to finish, then raises
        :class:`RewarmBusy`; StoreUnavailable if either store fails (markers stay unset)."""
        deadline = time.monotonic() + wait_s
        token = self._mirror.acquire_rewarm_lock(LOCK_MS)
        while token is None and time.monotonic() < deadline:
            time.sleep(LOCK_POLL_S)
            token = self._mirror.acquire_rewarm_lock(LOCK_MS)
        if token is None:
            raise RewarmBusy("another process is rewarming Redis")
        try:
            return self._load(progress)
        finally:
            self._mirror.release_rewarm_lock(token)

    def _load(self, progress: Progress | None) -> int:
        self._relay.drain()
        cutoff = self._now() - self._lag.bound
        with self._database.transaction("count live sessions", read_only=True) as tx:
            total = tx.user_sessions.count_live(cutoff)
        loaded, after = 0, ""
        for _ in range(ceil(total / PAGE_SIZE) + EXTRA_PAGES):
            with self._database.transaction("read live sessions", read_only=True) as tx:
                page = tx.user_sessions.live_page(cutoff, after=after, limit=PAGE_SIZE)
            if not page:
                break
            now = self._now()
            self._writer.apply([PutSession(self._lag.credit(s, now)) for s in page], now)
            loaded += len(page)
            after = page[-1].session_id
            if progress is not None:
                progress(loaded, max(total, loaded))
            if len(page) < PAGE_SIZE:
                break
        self._relay.drain()
        self._mirror.mark_complete()
        self._metrics.increment("rewarms")
        logger.info("rewarmed Redis with %d live sessions; misses are authoritative again", loaded)
        return loaded
