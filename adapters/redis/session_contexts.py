"""RedisSessionContextQuery: a request's session and platforms in one round trip."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any

import attrs
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
from platform_sessions.adapters.redis.near_cache import NearCache
from platform_sessions.adapters.redis.platform_cache import RedisPlatformCache
from platform_sessions.adapters.redis.platform_directory import RedisPlatformDirectory
from platform_sessions.adapters.redis.replies import text
from platform_sessions.adapters.redis.scripts import register
from platform_sessions.adapters.redis.session_codec import decode_session_json, handed_out
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
    rememberable: bool = False


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
        near_cache: NearCache[SessionSnapshot] | None = None,
    ) -> None:
        self._keys = keys
        self._near = near_cache
        self._touch_interval = policy.touch_interval
        self._read_completeness = read_completeness
        self._cache = cache
        self._directory = directory
        self._touch_interval_us = duration_micros(policy.touch_interval)
        self._idle_us = duration_micros(policy.idle_timeout)
        self._anonymous_idle_us = duration_micros(policy.anonymous_idle_timeout)
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
        """:meth:`load`, telling a miss in a slot known complete from any other miss.

        With a near cache, a session read before and unchanged in Redis since (the cache
        hears of every change) is answered without a round trip, unless its touch is due.
        """
        if self._near is None:
            return self._read(digest, self._dependencies(digest), now, requested_platform_id)
        name = (digest.hex, requested_platform_id)
        remembered, ticket = self._near.lookup(
            name,
            partial(self._dependencies, digest),  # key names only for a miss's ticket
            lambda snapshot: now - snapshot.session.last_seen_at < self._touch_interval,
        )
        if remembered is not None:
            return ResolveReply(_handed_out(remembered))
        dependencies = self._dependencies(digest)
        if ticket is None:
            return self._read(digest, dependencies, now, requested_platform_id)
        try:
            reply = self._read(digest, dependencies, now, requested_platform_id)
        except BaseException:
            self._near.abandon(ticket)
            raise
        if reply.snapshot is not None and reply.rememberable:
            self._near.fill(ticket, name, reply.snapshot)
            return ResolveReply(_handed_out(reply.snapshot), seen_before=reply.seen_before)
        self._near.abandon(ticket)
        return reply

    def _dependencies(self, digest: TokenDigest) -> list[str]:
        # What a snapshot is read from: the session hash and its tag's platform cache.
        return [self._keys.session(digest), self._keys.platform_cache(digest.routing_tag)]

    def _read(
        self,
        digest: TokenDigest,
        dependencies: list[str],
        now: datetime,
        requested_platform_id: PlatformId | None,
    ) -> ResolveReply:
        key = dependencies[0]
        keys = list(dependencies)  # the two-tier storage adds its slot's marker
        if self._read_completeness:
            keys.append(self._keys.completeness_marker(slot_tag_for(digest.routing_tag)))
        try:
            reply = self._resolve(
                keys=keys,
                args=[
                    to_micros(now),
                    self._touch_interval_us,
                    self._idle_us,
                    requested_platform_id or "",
                    self._anonymous_idle_us,
                ],
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
        snapshot, from_cache = self._snapshot(session, reply, digest, requested_platform_id)
        return ResolveReply(snapshot, seen_before=seen_before, rememberable=from_cache)

    def _snapshot(
        self, session: UserSession, reply: Any, digest: TokenDigest, requested_platform_id: PlatformId | None
    ) -> tuple[SessionSnapshot, bool]:
        if session.user_id is None:
            # An anonymous session has no platforms; all it was read from is its own key.
            return SessionSnapshot(session=session), True
        lookup = self._cache.parse(reply[2], session.user_id, digest.routing_tag)
        # Only what came from the platform cache key may be remembered: a refill's records
        # were read from the backing directory, which no invalidation report covers.
        from_cache = lookup.hit
        if not lookup.hit:
            lookup = self._after_miss(session, lookup, requested_platform_id)
        snapshot = SessionSnapshot(
            session=session,
            active_platform=lookup.active,
            default_platform=lookup.default,
            requested_platform=lookup.requested,
        )
        return snapshot, from_cache

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
        platforms = self._directory.refill(session.logged_in_user_id, missed.generation)
        return PlatformLookup(
            hit=True,
            generation=missed.generation,
            active=platforms.get(session.active_platform_id),
            default=platforms.default,
            requested=platforms.get(requested_platform_id),
        )


def _handed_out(snapshot: SessionSnapshot) -> SessionSnapshot:
    session = handed_out(snapshot.session)
    return snapshot if session is snapshot.session else attrs.evolve(snapshot, session=session)
