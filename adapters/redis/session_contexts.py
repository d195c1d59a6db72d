"""RedisSessionContextQuery: a request's session and platforms in one round trip."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from attrs import frozen

from platform_sessions.adapters.redis.client import RedisClient
from platform_sessions.adapters.redis.epoch import duration_micros, from_micros, to_micros
from platform_sessions.adapters.redis.errors import (
    REDIS_FAILURES,
    CorruptPayload,
    loggable_key,
    unavailable,
)
from platform_sessions.adapters.redis.keys import RedisKeys
from platform_sessions.adapters.redis.platform_cache import RedisPlatformCache
from platform_sessions.adapters.redis.platform_directory import RedisPlatformDirectory
from platform_sessions.adapters.redis.replies import text
from platform_sessions.adapters.redis.scripts import register
from platform_sessions.adapters.redis.session_codec import decode_session_json
from platform_sessions.adapters.redis.slot_markers import slot_tag_for
from platform_sessions.adapters.redis.user_platforms import PlatformLookup
from platform_sessions.domain.context import SessionSnapshot
from platform_sessions.domain.ids import PlatformId
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import SessionContextQuery
from platform_sessions.domain.session import UserSession
from platform_sessions.domain.token import TokenDigest

logger = logging.getLogger(__name__)


@frozen
class ResolveReply:
    """What one resolve round trip found (the two-tier storage needs more than the snapshot).

    ``snapshot`` is ``None`` for a missing or undecodable session; ``complete`` says that the
    slot's completeness marker was there (a miss is then authoritative); ``seen_before`` is the
    session's ``last_seen_at`` before this call's touch; ``undecodable`` flags a corrupt record.
    """

    snapshot: SessionSnapshot | None
    complete: bool = False
    seen_before: datetime | None = None
    undecodable: bool = False


class RedisSessionContextQuery(SessionContextQuery):
    """One script reads the session, touches it when due, and reads the user's cached platforms.

    The session hash and the platform cache share the routing tag's hash slot, and the script
    finds the user's cache fields through the label stored in the session, so the token digest
    is all it needs. Only a platform-cache miss costs more: a backing directory read and a fill.
    """

    def __init__(
        self,
        client: RedisClient,
        keys: RedisKeys,
        policy: SessionPolicy,
        cache: RedisPlatformCache,
        directory: RedisPlatformDirectory,
        *,
        read_completeness: bool = False,
    ) -> None:
        self._keys = keys
        self._read_completeness = read_completeness
        self._cache = cache
        self._directory = directory
        self._touch_interval_us = duration_micros(policy.touch_interval)
        self._idle_us = duration_micros(policy.idle_timeout)
        self._resolve = register(client, "resolve_session")

    def load(
        self,
        digest: TokenDigest,
        *,
        now: datetime,
        requested_platform_id: PlatformId | None = None,
    ) -> SessionSnapshot | None:
        return self.read(digest, now=now, requested_platform_id=requested_platform_id).snapshot

    def read(
        self,
        digest: TokenDigest,
        *,
        now: datetime,
        requested_platform_id: PlatformId | None = None,
    ) -> ResolveReply:
        """:meth:`load`, telling a miss in a slot known complete from any other miss."""
        key = self._keys.session(digest)
        keys = [key, self._keys.platform_cache(digest.routing_tag)]
        if self._read_completeness:
            keys.append(self._keys.completeness_marker(slot_tag_for(digest.routing_tag)))
        try:
            reply = self._resolve(
                keys=keys,
                args=[to_micros(now), self._touch_interval_us, self._idle_us, requested_platform_id or ""],
            )
        except REDIS_FAILURES as error:  # inline, not a context manager: this is every request
            raise unavailable("resolving a session", error) from error
        status = text(reply[0])
        if status == "missing":
            return ResolveReply(None, complete=len(reply) > 1 and int(reply[1]) == 1)
        session = self._session(reply, digest, key)
        if session is None:
            return ResolveReply(None, undecodable=True)
        seen_before = from_micros(int(reply[3])) if len(reply) > 3 else None
        return ResolveReply(
            self._snapshot(session, reply, digest, requested_platform_id), seen_before=seen_before
        )

    def _snapshot(
        self, session: UserSession, reply: Any, digest: TokenDigest, requested_platform_id: PlatformId | None
    ) -> SessionSnapshot:
        lookup = self._cache.parse(reply[2], session.user_id, digest.routing_tag)
        if not lookup.hit:
            lookup = self._after_miss(session, lookup, requested_platform_id)
        return SessionSnapshot(
            session=session,
            active_platform=lookup.active,
            default_platform=lookup.default,
            requested_platform=lookup.requested,
        )

    def _session(self, reply: Any, digest: TokenDigest, key: str) -> UserSession | None:
        status = text(reply[0])
        if status == "missing":
            return None
        try:
            if status != "ok":
                raise CorruptPayload("not a session hash of this schema version")
            return decode_session_json(reply[1], digest)
        except CorruptPayload as error:
            logger.warning(
                "an undecodable session at %s is treated as not found: %s", loggable_key(key), error
            )
            return None

    def _after_miss(
        self, session: UserSession, missed: PlatformLookup, requested_platform_id: PlatformId | None
    ) -> PlatformLookup:
        platforms = self._directory.refill(session.user_id, missed.generation)
        return PlatformLookup(
            hit=True,
            generation=missed.generation,
            active=platforms.get(session.active_platform_id),
            default=platforms.default,
            requested=platforms.get(requested_platform_id),
        )
