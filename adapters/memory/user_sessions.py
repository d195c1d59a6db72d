"""The in-memory user session store: the fake with the real stores' semantics."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from platform_sessions.domain.errors import ConcurrentUpdate, SessionDataTooLarge, SessionNotFound
from platform_sessions.domain.ids import SessionId, UserId
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import UnitOfWork, UserSessionRepository
from platform_sessions.domain.session import SessionChanges, UserSession
from platform_sessions.domain.session_data import SessionDataChanges, data_size
from platform_sessions.domain.token import TokenDigest


class InMemoryUserSessionRepository(UserSessionRepository):
    """Sessions in a dict keyed by token digest, every operation atomic under one lock."""

    def __init__(self, policy: SessionPolicy) -> None:
        self._policy = policy
        self._lock = threading.Lock()
        self._by_digest: dict[TokenDigest, UserSession] = {}

    def create(self, session: UserSession, *, max_sessions: int) -> Sequence[UserSession]:
        with self._lock:
            if session.token_digest in self._by_digest:
                raise ConcurrentUpdate("a session with this token already exists")
            if session.user_id is None:
                # A visitor's session belongs to no user: no limit, nothing evicted.
                self._by_digest[session.token_digest] = session
                return []
            now = session.last_seen_at
            others = self._user_sessions(session.user_id)
            for expired in [s for s in others if s.expiry_reason(now, self._policy) is not None]:
                # Pruned on the way, as a store with TTLs would have done by itself.
                del self._by_digest[expired.token_digest]
                others.remove(expired)
            overflow = len(others) + 1 - max_sessions
            evicted = sorted(others, key=lambda s: (s.last_seen_at, s.created_at))[: max(overflow, 0)]
            for old in evicted:
                del self._by_digest[old.token_digest]
            self._by_digest[session.token_digest] = session
            return evicted

    def get(self, digest: TokenDigest, *, within: UnitOfWork | None = None) -> UserSession | None:
        """Every write here is at once, so every read sees the latest: ``within`` changes nothing."""
        with self._lock:
            return self._by_digest.get(digest)

    def update(
        self, session: UserSession, changes: SessionChanges, *, within: UnitOfWork | None = None
    ) -> UserSession:
        """Applied at once: sessions here live in no unit of work's database, so ``within`` is
        not joined (the port allows that)."""
        with self._lock:
            stored = self._current(session)
            updated = stored.apply(changes)
            self._by_digest[stored.token_digest] = updated
            return updated

    def write_data(
        self,
        session: UserSession,
        changes: SessionDataChanges,
        *,
        max_bytes: int,
        expected_version: int | None = None,
        within: UnitOfWork | None = None,
    ) -> UserSession:
        """Merged under the lock, at once (``within`` is not joined, as in :meth:`update`)."""
        with self._lock:
            stored = self._by_digest.get(session.token_digest)
            if stored is None or stored.session_id != session.session_id:
                raise SessionNotFound("the session is gone; a data write never recreates it")
            if expected_version is not None and stored.version != expected_version:
                raise ConcurrentUpdate(
                    f"the session is at version {stored.version}, not {expected_version} as expected"
                )
            written = stored.with_data(changes)
            size = data_size(written.data)
            if size > max_bytes:
                raise SessionDataTooLarge(f"session data would be {size} bytes, more than {max_bytes}")
            self._by_digest[stored.token_digest] = written
            return written

    def rotate(self, session: UserSession, new_digest: TokenDigest, new_csrf_token: str) -> UserSession:
        with self._lock:
            stored = self._current(session)
            if new_digest in self._by_digest:
                raise ConcurrentUpdate("a session with the new token already exists")
            rotated = stored.rotated(new_digest, new_csrf_token)
            del self._by_digest[stored.token_digest]
            self._by_digest[new_digest] = rotated
            return rotated

    def touch(self, session: UserSession, seen_at: datetime) -> UserSession | None:
        with self._lock:
            stored = self._by_digest.get(session.token_digest)
            if stored is None or stored.session_id != session.session_id:
                return None
            touched = stored.touched(seen_at)
            self._by_digest[stored.token_digest] = touched
            return touched

    def delete(self, session: UserSession) -> bool:
        with self._lock:
            stored = self._by_digest.get(session.token_digest)
            if stored is None or stored.session_id != session.session_id:
                # Rotated since it was read (or gone): the session is found by its id.
                stored = next(
                    (s for s in self._by_digest.values() if s.session_id == session.session_id), None
                )
            if stored is None:
                return False
            del self._by_digest[stored.token_digest]
            return True

    def list_for_user(self, user_id: UserId, now: datetime) -> Sequence[UserSession]:
        with self._lock:
            live = [s for s in self._user_sessions(user_id) if s.expiry_reason(now, self._policy) is None]
        return sorted(live, key=lambda s: s.last_seen_at, reverse=True)

    def delete_all_for_user(self, user_id: UserId, *, keep: SessionId | None = None) -> Sequence[UserSession]:
        with self._lock:
            ended = [s for s in self._user_sessions(user_id) if s.session_id != keep]
            for session in ended:
                del self._by_digest[session.token_digest]
            return ended

    def purge_expired(self, now: datetime, *, batch_size: int = 1000) -> int:
        purged = 0
        while True:
            with self._lock:  # one batch per lock hold, like one short transaction per batch
                batch = [
                    digest
                    for digest, s in self._by_digest.items()
                    if s.expiry_reason(now, self._policy) is not None
                ][:batch_size]
                for digest in batch:
                    del self._by_digest[digest]
            purged += len(batch)
            if len(batch) < batch_size:
                return purged

    def _user_sessions(self, user_id: UserId | None) -> list[UserSession]:
        return [s for s in self._by_digest.values() if s.user_id == user_id]

    def _current(self, session: UserSession) -> UserSession:
        """The stored session if it still is the one read at ``session.version``."""
        stored = self._by_digest.get(session.token_digest)
        if stored is None or stored.session_id != session.session_id:
            raise SessionNotFound("the session is gone; an update never recreates it")
        if stored.version != session.version:
            raise ConcurrentUpdate(
                f"the session is at version {stored.version}, not {session.version} as read"
            )
        return stored
