"""The Redis work a committed change owes, the outbox rows that record it, and the writer that applies it.

Each item says what Redis must look like for one session (or one user's platform cache) once
applied; applying is idempotent and can never resurrect anything (versions and tombstones, see
``lua/lib_mirror.lua``), so the writer after its commit, the relay and a rewarm may all apply
the same item, in any order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from attrs import frozen

from platform_sessions.adapters.redis.platform_cache import RedisPlatformCache
from platform_sessions.adapters.redis.session_mirror import EndedSession, RedisSessionMirror
from platform_sessions.adapters.sqlalchemy.outbox import OutboxEntry
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.session import UserSession
from platform_sessions.domain.session_data import SessionDataChanges


@frozen
class PutSession:
    """Mirror this committed session."""

    session: UserSession


@frozen
class PutSessionData:
    """Mirror this committed data write: ``session`` as committed, ``changes`` what it wrote
    (only those keys are written to Redis when it holds the version just before)."""

    session: UserSession
    changes: SessionDataChanges


@frozen
class ForgetSessions:
    """Remove these ended sessions of one user, leaving tombstones."""

    user_id: UserId | None
    ended: tuple[EndedSession, ...]


@frozen
class RekeySession:
    """Forget the old digest and mirror the session under its new one, atomically."""

    old: EndedSession
    session: UserSession


@frozen
class DropPlatforms:
    """Drop a user's platform cache."""

    user_id: UserId


MirrorWork = PutSession | PutSessionData | ForgetSessions | RekeySession | DropPlatforms


def ended(session: UserSession) -> EndedSession:
    """``session`` as a digest to forget, guarded by a tombstone until its absolute deadline."""
    return EndedSession(session.token_digest, session.absolute_expires_at)


def outbox_entries(work: Sequence[MirrorWork]) -> list[OutboxEntry]:
    """The outbox rows that record ``work`` (one per digest, one per platform cache)."""
    entries: list[OutboxEntry] = []
    for item in work:
        if isinstance(item, PutSession | PutSessionData):
            s = item.session
            entries.append(OutboxEntry.for_session(s.user_id, s.token_digest, s.absolute_expires_at))
        elif isinstance(item, ForgetSessions):
            entries.extend(
                OutboxEntry.for_session(item.user_id, e.digest, e.absolute_expires_at) for e in item.ended
            )
        elif isinstance(item, RekeySession):
            s = item.session
            entries.append(OutboxEntry.for_session(s.user_id, item.old.digest, item.old.absolute_expires_at))
            entries.append(OutboxEntry.for_session(s.user_id, s.token_digest, s.absolute_expires_at))
        else:
            entries.append(OutboxEntry.for_platforms(item.user_id))
    return entries


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
            elif isinstance(item, RekeySession):
                seen = self._mirror.rotate(item.old, item.session, now).last_seen_at
            elif isinstance(item, DropPlatforms):
                self._cache.invalidate(item.user_id)
        return seen
