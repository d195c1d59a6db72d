"""The sweeper: deletes sessions whose deadline passed before their TTL reclaimed them.

Redis expires sessions by their TTLs; the sweeper only catches the ones that expired by the
caller's clock first (or whose TTL a clock difference left too long), and prunes their index
entries. Correctness never depends on it: every read checks expiry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from platform_sessions.adapters.redis.client import RedisClient
from platform_sessions.adapters.redis.epoch import duration_micros, to_micros
from platform_sessions.adapters.redis.errors import CorruptPayload, redis_unavailable_as_store_error
from platform_sessions.adapters.redis.keys import RedisKeys
from platform_sessions.adapters.redis.replies import text
from platform_sessions.adapters.redis.scripts import register
from platform_sessions.adapters.redis.session_codec import ABSOLUTE_EXPIRES_AT, LAST_SEEN_AT, USER_LABEL
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.token import RoutingTag


class SessionSweeper:
    """Scans session keys in batches; each expired one is deleted by one script with its index."""

    def __init__(self, client: RedisClient, keys: RedisKeys, policy: SessionPolicy) -> None:
        self._client = client
        self._keys = keys
        self._idle_us = duration_micros(policy.idle_timeout)
        self._anonymous_idle_us = duration_micros(policy.anonymous_idle_timeout)
        self._purge = register(client, "purge_session")

    def purge(self, now: datetime, batch_size: int) -> int:
        """Delete the sessions expired at ``now``, reading ``batch_size`` keys at a time."""
        purged = 0
        with redis_unavailable_as_store_error("purging expired sessions"):
            batch: list[str] = []
            # SCAN visits every node of a cluster; a key seen twice is purged once.
            for key in self._client.scan_iter(match=self._keys.session_pattern(), count=batch_size):
                batch.append(text(key))
                if len(batch) >= batch_size:
                    purged += self._purge_batch(batch, now)
                    batch = []
            if batch:
                purged += self._purge_batch(batch, now)
        return purged

    def _purge_batch(self, keys: list[str], now: datetime) -> int:
        # One pipelined read for the batch, then a script only for the expired candidates,
        # which checks again, atomically, before deleting.
        pipeline = self._client.pipeline(transaction=False)
        for key in keys:
            pipeline.hmget(key, [USER_LABEL, LAST_SEEN_AT, ABSOLUTE_EXPIRES_AT])
        now_us, purged = to_micros(now), 0
        for key, reply in zip(keys, pipeline.execute(raise_on_error=False), strict=True):
            candidate = self._expired_candidate(key, reply, now_us)
            if candidate is None:
                continue
            tag, member, label = candidate
            if label is None:  # an anonymous session, in no index
                args: list[int | str] = [now_us, self._anonymous_idle_us, member, ""]
                purged += int(self._purge(keys=[key], args=args))
            else:
                index_key = self._keys.index(tag, label)
                purged += int(self._purge(keys=[key, index_key], args=[now_us, self._idle_us, member, label]))
        return purged

    def _expired_candidate(
        self, key: str, reply: Any, now_us: int
    ) -> tuple[RoutingTag, str, str | None] | None:
        parsed = self._keys.parse_session(key)
        if parsed is None or isinstance(reply, Exception):
            return None  # not one of our session keys, or not a hash
        try:
            raw_label, *times = reply
            # No label: an anonymous session (the script checks it has no user id either).
            label = None if raw_label is None else text(raw_label)
            last_seen, absolute = (text(value) for value in times)
            idle_us = self._idle_us if label is not None else self._anonymous_idle_us
            deadline = min(int(last_seen) + idle_us, int(absolute))
        except (CorruptPayload, TypeError, ValueError):
            return None  # not a session this code can judge; the script would refuse it too
        if now_us < deadline:
            return None
        tag, member = parsed
        return tag, member, label
