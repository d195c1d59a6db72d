"""RedisSessionMirror: Redis as a mirror of sessions the database committed (two-tier storage).

The database arbitrates versions; these writes only bring Redis in line with it (``put``,
``forget``, ``rotate``), plus the completeness markers and the rewarm lock. See
``lua/lib_mirror.lua`` and architecture.md, "Two tiers".
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from attrs import frozen

from platform_sessions.adapters.redis.client import RedisClient
from platform_sessions.adapters.redis.epoch import duration_micros, from_micros, to_micros, ttl_millis
from platform_sessions.adapters.redis.errors import redis_unavailable_as_store_error
from platform_sessions.adapters.redis.keys import RedisKeys
from platform_sessions.adapters.redis.replies import text
from platform_sessions.adapters.redis.scripts import register
from platform_sessions.adapters.redis.session_codec import DATA_PREFIX, encode_session
from platform_sessions.adapters.redis.slot_markers import slot_tag_for, slot_tags
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.session import UserSession
from platform_sessions.domain.session_data import SessionDataChanges, data_size
from platform_sessions.domain.token import TokenDigest

# Markers are written in pipelined batches of this many SETs.
MARKER_BATCH = 2048
# The relay checks this many markers, spread over the slots, to notice a Redis that lost them.
MARKER_SAMPLE_STRIDE = 256


@frozen
class PutOutcome:
    """What a put did (``tombstoned``, ``kept``, ``expired``, ``stored``) and the session's
    ``last_seen_at`` in Redis afterwards (the later of the two), if Redis holds it."""

    status: str
    last_seen_at: datetime | None


@frozen
class EndedSession:
    """A session the database ended: its digest, and until when a tombstone must guard it."""

    digest: TokenDigest
    absolute_expires_at: datetime


class RedisSessionMirror:
    """Writes that make Redis mirror the database; every one of them a single atomic script."""

    def __init__(self, client: RedisClient, keys: RedisKeys, policy: SessionPolicy) -> None:
        self._client = client
        self._keys = keys
        self._idle_us = duration_micros(policy.idle_timeout)
        self._anonymous_idle_us = duration_micros(policy.anonymous_idle_timeout)
        self._put = register(client, "put_session")
        self._forget = register(client, "forget_sessions")
        self._rotate = register(client, "rotate_mirror")
        self._put_data = register(client, "mirror_session_data")

    def put(self, session: UserSession, now: datetime) -> PutOutcome:
        """Mirror ``session`` unless a tombstone or a newer version says otherwise."""
        digest = session.token_digest
        with redis_unavailable_as_store_error("mirroring a session"):
            reply = self._put(
                keys=[
                    self._keys.session(digest),
                    *self._index(session.user_id),
                    self._keys.tombstone(digest),
                ],
                args=[to_micros(now), self._idle_for(session), digest.hex, *self._fields(session)],
            )
        return _outcome(reply)

    def put_data(self, session: UserSession, changes: SessionDataChanges, now: datetime) -> PutOutcome:
        """Mirror a committed data write (``session`` as committed, ``changes`` what it wrote)
        with only the keys it changed; if Redis lacks the version before it (a mirror write
        missed, or the session is not there), put the whole session instead."""
        digest = session.token_digest
        args: list[Any] = [session.session_id, session.version, data_size(session.data), len(changes.set)]
        for key, encoded in changes.encoded.items():
            args.extend((DATA_PREFIX + key, encoded))
        args.extend(DATA_PREFIX + key for key in changes.delete)
        with redis_unavailable_as_store_error("mirroring a session's data"):
            reply = self._put_data(keys=[self._keys.session(digest), self._keys.tombstone(digest)], args=args)
        outcome = _outcome(reply)
        return self.put(session, now) if outcome.status == "stale" else outcome

    def forget(self, user_id: UserId | None, ended: Sequence[EndedSession], now: datetime) -> None:
        """Remove ``user_id``'s ended sessions and leave a tombstone for each."""
        if not ended:
            return
        keys = self._index(user_id)
        args: list[Any] = []
        for item in ended:
            keys.extend((self._keys.session(item.digest), self._keys.tombstone(item.digest)))
            args.extend((item.digest.hex, ttl_millis(item.absolute_expires_at, now)))
        with redis_unavailable_as_store_error("forgetting ended sessions"):
            self._forget(keys=keys, args=args)

    def rotate(self, old: EndedSession, session: UserSession, now: datetime) -> PutOutcome:
        """Forget the old digest and put ``session`` under its new one, in one script."""
        new = session.token_digest
        with redis_unavailable_as_store_error("mirroring a rotation"):
            reply = self._rotate(
                keys=[
                    self._keys.session(old.digest),
                    self._keys.tombstone(old.digest),
                    self._keys.session(new),
                    self._keys.tombstone(new),
                    *self._index(session.user_id),
                ],
                args=[
                    to_micros(now),
                    self._idle_for(session),
                    old.digest.hex,
                    ttl_millis(old.absolute_expires_at, now),
                    new.hex,
                    *self._fields(session),
                ],
            )
        return _outcome(reply)

    # completeness markers and the rewarm lock

    def mark_complete(self) -> None:
        """Set every slot's completeness marker (after a rewarm loaded every live session)."""
        tags = slot_tags()
        with redis_unavailable_as_store_error("setting the completeness markers"):
            for start in range(0, len(tags), MARKER_BATCH):
                pipeline = self._client.pipeline(transaction=False)
                for tag in tags[start : start + MARKER_BATCH]:
                    pipeline.set(self._keys.completeness_marker(tag), "1")
                pipeline.execute()

    def clear_marker_for(self, digest: TokenDigest) -> None:
        """Drop the completeness marker of ``digest``'s slot (a write to it could not be mirrored)."""
        with redis_unavailable_as_store_error("clearing a completeness marker"):
            self._client.delete(self._keys.completeness_marker(slot_tag_for(digest.routing_tag)))

    def markers_present(self) -> bool:
        """Whether a sample of markers spread over the slots (every node of a cluster) exists."""
        sample = slot_tags()[::MARKER_SAMPLE_STRIDE]
        with redis_unavailable_as_store_error("checking the completeness markers"):
            pipeline = self._client.pipeline(transaction=False)
            for tag in sample:
                pipeline.exists(self._keys.completeness_marker(tag))
            return all(int(found) for found in pipeline.execute())

    def acquire_rewarm_lock(self, ttl_ms: int) -> str | None:
        """Take the rewarm lock (SET NX PX); the lock's token, or ``None`` if another holds it."""
        token = secrets.token_hex(16)
        with redis_unavailable_as_store_error("taking the rewarm lock"):
            taken = self._client.set(self._keys.rewarm_lock(), token, nx=True, px=ttl_ms)
        return token if taken else None

    def release_rewarm_lock(self, token: str) -> None:
        """Release the lock if it still is ours (it may have expired and been taken since)."""
        key = self._keys.rewarm_lock()
        with redis_unavailable_as_store_error("releasing the rewarm lock"):
            if text(self._client.get(key) or b"") == token:
                self._client.delete(key)

    def _index(self, user_id: UserId | None) -> list[str]:
        # The scripts take the index as an optional key: an anonymous session is in none.
        return [] if user_id is None else [self._keys.index_for(user_id)]

    def _idle_for(self, session: UserSession) -> int:
        return self._anonymous_idle_us if session.user_id is None else self._idle_us

    def _fields(self, session: UserSession) -> list[str]:
        flat: list[str] = []
        label = None if session.user_id is None else self._keys.label_for(session.user_id)
        for name, value in encode_session(session, label).items():
            flat.extend((name, value))
        return flat


def _outcome(reply: Any) -> PutOutcome:
    seen = text(reply[1])
    return PutOutcome(text(reply[0]), from_micros(int(seen)) if seen else None)
