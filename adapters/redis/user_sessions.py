"""RedisUserSessionRepository: sessions as hashes, a per-user index, one script per mutation."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from redis.exceptions import ResponseError

from platform_sessions.adapters.redis.client import RedisClient
from platform_sessions.adapters.redis.epoch import duration_micros, to_micros, ttl_millis
from platform_sessions.adapters.redis.errors import (
    CorruptPayload,
    loggable_key,
    redis_unavailable_as_store_error,
)
from platform_sessions.adapters.redis.keys import RedisKeys
from platform_sessions.adapters.redis.replies import text
from platform_sessions.adapters.redis.scripts import register
from platform_sessions.adapters.redis.session_codec import (
    DATA_PREFIX,
    decode_session,
    encode_changes,
    encode_session,
)
from platform_sessions.adapters.redis.session_sweeper import SessionSweeper
from platform_sessions.domain.errors import (
    ConcurrentUpdate,
    InvalidInput,
    SessionDataTooLarge,
    SessionNotFound,
    StoreUnavailable,
)
from platform_sessions.domain.ids import SessionId, UserId
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import UnitOfWork, UserSessionRepository
from platform_sessions.domain.session import SessionChanges, UserSession
from platform_sessions.domain.session_data import SessionDataChanges
from platform_sessions.domain.token import RoutingTag, TokenDigest

logger = logging.getLogger(__name__)

# A script answering "need" asks to be run again with more keys declared; another writer
# changing the user's sessions in between makes it ask again. Bounded, like every retry.
DECLARE_ATTEMPTS = 5


class RedisUserSessionRepository(UserSessionRepository):
    """Sessions in Redis; see architecture.md, "Redis", for the layout and the scripts.

    Every mutation is one Lua script that keeps the session, its TTL and the user's index
    consistent; every key a script touches is declared to it. Times come from the arguments
    (the session's timestamps, ``seen_at``, ``now``), never from Redis TIME, and TTLs are
    computed from them: the smaller of the idle and absolute remaining times.
    """

    def __init__(self, client: RedisClient, keys: RedisKeys, policy: SessionPolicy) -> None:
        self._client = client
        self._keys = keys
        self._policy = policy
        self._idle_us = duration_micros(policy.idle_timeout)
        self._anonymous_idle_us = duration_micros(policy.anonymous_idle_timeout)
        self._create = register(client, "create_session")
        self._update = register(client, "update_session")
        self._rotate = register(client, "rotate_session")
        self._touch = register(client, "touch_session")
        self._delete = register(client, "delete_session")
        self._delete_all = register(client, "delete_user_sessions")
        self._prune = register(client, "prune_index")
        self._write_data = register(client, "write_session_data")
        self._sweeper = SessionSweeper(client, keys, policy)

    # create and read

    def create(self, session: UserSession, *, max_sessions: int) -> Sequence[UserSession]:
        if session.user_id is None:
            return self._create_anonymous(session)
        digest = session.token_digest
        tag, label = digest.routing_tag, self._keys.label_for(session.logged_in_user_id)
        now = session.last_seen_at
        session_key, index_key = self._keys.session(digest), self._keys.index(tag, label)
        fields = encode_session(session, label)
        declared: list[str] = []
        for _ in range(DECLARE_ATTEMPTS):
            args: list[Any] = [
                to_micros(now),
                self._idle_us,
                max_sessions,
                digest.hex,
                to_micros(session.absolute_expires_at),
                ttl_millis(session.expires_at(self._policy), now),
                ttl_millis(session.absolute_expires_at, now),
                len(declared),
                *declared,
            ]
            for name, value in fields.items():
                args.extend((name, value))
            keys = [session_key, index_key, *(self._keys.session_in(tag, member) for member in declared)]
            with redis_unavailable_as_store_error("creating a session"):
                reply = self._create(keys=keys, args=args)
            status = text(reply[0])
            if status == "exists":
                raise ConcurrentUpdate("a session with this token already exists")
            if status == "ok":
                return self._decode_entries(reply[1], tag)
            declared = [text(member) for member in reply[1]]
        raise ConcurrentUpdate(f"the user's sessions kept changing under {DECLARE_ATTEMPTS} attempts")

    def _create_anonymous(self, session: UserSession) -> Sequence[UserSession]:
        """The create script with the session's key alone: in no index, under no limit."""
        now = session.last_seen_at
        args: list[Any] = [
            to_micros(now),
            self._anonymous_idle_us,
            0,
            session.token_digest.hex,
            to_micros(session.absolute_expires_at),
            ttl_millis(session.expires_at(self._policy), now),
            ttl_millis(session.absolute_expires_at, now),
            0,
        ]
        for name, value in encode_session(session, None).items():
            args.extend((name, value))
        with redis_unavailable_as_store_error("creating a session"):
            reply = self._create(keys=[self._keys.session(session.token_digest)], args=args)
        if text(reply[0]) == "exists":
            raise ConcurrentUpdate("a session with this token already exists")
        return []

    def get(self, digest: TokenDigest, *, within: UnitOfWork | None = None) -> UserSession | None:
        """``within`` changes nothing: every write here is at once, so every read is the record."""
        key = self._keys.session(digest)
        try:
            with redis_unavailable_as_store_error("reading a session"):
                raw = self._client.hgetall(key)
        except StoreUnavailable as error:
            if not _is_wrong_type(error.__cause__):
                raise
            logger.warning(
                "a session key holding another Redis type is treated as not found: %s", loggable_key(key)
            )
            return None
        return self._decode_or_none(raw, digest, key) if raw else None

    def get_many(self, digests: Sequence[TokenDigest]) -> list[UserSession | None]:
        """What :meth:`get` answers for each digest, in order, in one pipelined round trip
        (on a cluster the sessions of one user share a slot; others are grouped by node)."""
        keys = [self._keys.session(digest) for digest in digests]
        with redis_unavailable_as_store_error("reading sessions"):
            replies = self._read_many(keys)
        found: list[UserSession | None] = []
        for digest, key, raw in zip(digests, keys, replies, strict=True):
            if isinstance(raw, Exception):
                if not _is_wrong_type(raw):
                    # Any other error reply fails the whole read, as it fails ``get``.
                    with redis_unavailable_as_store_error("reading sessions"):
                        raise raw
                logger.warning(
                    "a session key holding another Redis type is treated as not found: %s", loggable_key(key)
                )
                found.append(None)
                continue
            found.append(self._decode_or_none(raw, digest, key) if raw else None)
        return found

    # versioned writes

    def update(
        self, session: UserSession, changes: SessionChanges, *, within: UnitOfWork | None = None
    ) -> UserSession:
        """One script, at once: Redis is no unit of work's database, so ``within`` is not joined."""
        to_set, to_delete = encode_changes(changes)
        args: list[Any] = [session.session_id, session.version, session.version + 1, len(to_set)]
        for name, value in to_set.items():
            args.extend((name, value))
        args.extend(to_delete)
        with redis_unavailable_as_store_error("updating a session"):
            reply = self._update(keys=[self._keys.session(session.token_digest)], args=args)
        return self._versioned_result(reply, session.token_digest, session)

    def write_data(
        self,
        session: UserSession,
        changes: SessionDataChanges,
        *,
        max_bytes: int,
        expected_version: int | None = None,
        within: UnitOfWork | None = None,
    ) -> UserSession:
        """One script, at once, writing only the keys changed (``within`` is not joined, as in
        :meth:`update`); its cost is bounded by those keys, not by the session's data."""
        args: list[Any] = [
            session.session_id,
            "" if expected_version is None else expected_version,
            max_bytes,
            len(changes.set),
        ]
        for key, encoded in changes.encoded.items():
            args.extend((DATA_PREFIX + key, encoded, len(key.encode("utf-8"))))
        for key in changes.delete:
            args.extend((DATA_PREFIX + key, len(key.encode("utf-8"))))
        with redis_unavailable_as_store_error("writing a session's data"):
            reply = self._write_data(keys=[self._keys.session(session.token_digest)], args=args)
        if text(reply[0]) == "too_large":
            raise SessionDataTooLarge(
                f"the session's data would be {text(reply[1])} bytes once encoded, more than {max_bytes}"
            )
        if text(reply[0]) == "conflict":
            raise ConcurrentUpdate(
                f"the session is at version {text(reply[1])}, not {expected_version} as expected"
            )
        return self._versioned_result(reply, session.token_digest, session)

    def rotate(self, session: UserSession, new_digest: TokenDigest, new_csrf_token: str) -> UserSession:
        old = session.token_digest
        if new_digest.routing_tag != old.routing_tag:
            # The new key must share the old one's slot; a different tag means the routing key
            # changed since the session started, which it must never do.
            raise InvalidInput("a rotated token must keep the routing tag of the session's user")
        args: list[Any] = [
            session.session_id,
            session.version,
            session.version + 1,
            old.hex,
            new_digest.hex,
            new_csrf_token,
        ]
        if session.user_id is None:
            # Its own index lives until the session's absolute deadline (from the time it was
            # last seen, about now: a little longer at worst, which costs nothing).
            args.append(ttl_millis(session.absolute_expires_at, session.last_seen_at))
        keys = [self._keys.session(old), self._keys.session(new_digest), self._index_of(session)]
        with redis_unavailable_as_store_error("rotating a session"):
            reply = self._rotate(keys=keys, args=args)
        if text(reply[0]) == "taken":
            raise ConcurrentUpdate("a session with the new token already exists")
        return self._versioned_result(reply, new_digest, session)

    def _versioned_result(self, reply: Any, digest: TokenDigest, session: UserSession) -> UserSession:
        status = text(reply[0])
        if status == "missing":
            raise SessionNotFound("the session is gone; an update never recreates it")
        if status == "conflict":
            raise ConcurrentUpdate(
                f"the session is at version {text(reply[1])}, not {session.version} as read"
            )
        stored = self._decode_or_none(reply[1], digest, self._keys.session(digest))
        if stored is None:
            raise SessionNotFound("the session was written but cannot be read back")
        return stored

    # touch and delete

    def touch(self, session: UserSession, seen_at: datetime) -> UserSession | None:
        key = self._keys.session(session.token_digest)
        with redis_unavailable_as_store_error("touching a session"):
            raw = self._touch(
                keys=[key], args=[session.session_id, to_micros(seen_at), self._idle_for(session)]
            )
        return self._decode_or_none(raw, session.token_digest, key) if raw else None

    def delete(self, session: UserSession) -> bool:
        """By the session's id: one script under the token the caller knows; if a rotation
        moved the session since, the script asks for the user's index members (an anonymous
        session's own index) and runs once more declaring their hashes (as
        :meth:`delete_all_for_user` does)."""
        digest = session.token_digest
        tag = digest.routing_tag
        index_key = self._index_of(session)
        declared: list[str] = []
        for _ in range(DECLARE_ATTEMPTS):
            with redis_unavailable_as_store_error("deleting a session"):
                reply = self._delete(
                    keys=[
                        self._keys.session(digest),
                        index_key,
                        *(self._keys.session_in(tag, m) for m in declared),
                    ],
                    args=[session.session_id, digest.hex, *declared],
                )
            if text(reply[0]) == "ok":
                return bool(int(reply[1]))
            declared = [m for m in (text(member) for member in reply[1]) if m != digest.hex]
        raise ConcurrentUpdate(f"the user's sessions kept changing under {DECLARE_ATTEMPTS} attempts")

    # a user's sessions

    def list_for_user(self, user_id: UserId, now: datetime) -> Sequence[UserSession]:
        tag, index_key = self._keys.tag_for(user_id), self._keys.index_for(user_id)
        with redis_unavailable_as_store_error("listing a user's sessions"):
            # Members whose absolute deadline has passed are dead; the others are read.
            members = [text(m) for m in self._client.zrangebyscore(index_key, f"({to_micros(now)}", "+inf")]
            replies = self._read_many([self._keys.session_in(tag, member) for member in members])
        live: list[UserSession] = []
        gone: list[str] = []
        for member, raw in zip(members, replies, strict=True):
            digest = _digest(member, tag)
            if not raw or digest is None:  # reclaimed by its TTL since the index was read
                gone.append(member)
                continue
            session = self._decode_or_none(raw, digest, self._keys.session_in(tag, member))
            if (
                session is not None
                and session.user_id == user_id
                and session.expiry_reason(now, self._policy) is None
            ):
                live.append(session)
        if gone:
            self._prune_index(index_key, tag, gone)
        return sorted(live, key=lambda s: s.last_seen_at, reverse=True)

    def _read_many(self, keys: list[str]) -> list[Any]:
        # One pipelined round trip: all keys share the user's slot, hence one node.
        pipeline = self._client.pipeline(transaction=False)
        for key in keys:
            pipeline.hgetall(key)
        return pipeline.execute(raise_on_error=False) if keys else []

    def _prune_index(self, index_key: str, tag: RoutingTag, members: list[str]) -> None:
        with redis_unavailable_as_store_error("pruning a user's index"):
            self._prune(keys=[index_key, *(self._keys.session_in(tag, m) for m in members)], args=members)

    def delete_all_for_user(self, user_id: UserId, *, keep: SessionId | None = None) -> Sequence[UserSession]:
        tag, index_key = self._keys.tag_for(user_id), self._keys.index_for(user_id)
        with redis_unavailable_as_store_error("reading a user's index"):
            members = [text(m) for m in self._client.zrange(index_key, 0, -1)]
        if not members:
            return []  # a session started after this read is not one this call was asked to end
        for _ in range(DECLARE_ATTEMPTS):
            with redis_unavailable_as_store_error("ending a user's sessions"):
                reply = self._delete_all(
                    keys=[index_key, *(self._keys.session_in(tag, m) for m in members)],
                    args=[keep or "", *members],
                )
            if text(reply[0]) == "ok":
                return self._decode_entries(reply[1], tag)
            members = [text(m) for m in reply[1]]
        raise ConcurrentUpdate(f"the user's sessions kept changing under {DECLARE_ATTEMPTS} attempts")

    def purge_expired(self, now: datetime, *, batch_size: int = 1000) -> int:
        return self._sweeper.purge(now, batch_size)

    # decoding

    def _decode_entries(self, entries: Any, tag: RoutingTag) -> list[UserSession]:
        """Sessions from a script's list of {member, raw hash} (evicted or ended ones)."""
        sessions: list[UserSession] = []
        for member_raw, raw in entries:
            member = text(member_raw)
            digest = _digest(member, tag)
            session = (
                None
                if digest is None
                else self._decode_or_none(raw, digest, self._keys.session_in(tag, member))
            )
            if session is not None:
                sessions.append(session)
        return sessions

    def _index_of(self, session: UserSession) -> str:
        """The index naming the session's current digest: its user's, or its own if anonymous."""
        tag = session.token_digest.routing_tag
        if session.user_id is None:
            return self._keys.anonymous_index(tag, session.session_id)
        return self._keys.index(tag, self._keys.label_for(session.user_id))

    def _idle_for(self, session: UserSession) -> int:
        return self._anonymous_idle_us if session.user_id is None else self._idle_us

    def _decode_or_none(self, raw: Any, digest: TokenDigest, key: str) -> UserSession | None:
        try:
            return decode_session(raw, digest)
        except CorruptPayload as error:
            logger.warning(
                "an undecodable session at %s is treated as not found: %s", loggable_key(key), error
            )
            return None


def _is_wrong_type(error: BaseException | None) -> bool:
    """Whether a Redis error says the key holds another type (garbage, not an outage)."""
    return isinstance(error, ResponseError) and str(error).startswith("WRONGTYPE")


def _digest(member: str, tag: RoutingTag) -> TokenDigest | None:
    """The digest an index member names, or ``None`` for a member that is not a digest."""
    try:
        return TokenDigest(member, tag)
    except ValueError:
        return None
