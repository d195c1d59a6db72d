"""TwoTierUserSessionRepository: the database decides, Redis mirrors, reads prefer Redis.

Every state change runs in one database transaction that also records, in the outbox, the
Redis work it owes; after the commit the work is applied and the rows cleared
(:class:`ChangeRecorder`). An update ``within`` a caller's SQL unit of work on the same
database runs in that transaction instead, and its Redis work waits for the caller's commit.
Touches go to Redis only; the database hears of one when it crosses a database touch interval
(:class:`DatabaseLag`), or of every one while Redis is away.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime

from platform_sessions.adapters.redis import RedisUserSessionRepository
from platform_sessions.adapters.redis.session_mirror import EndedSession
from platform_sessions.adapters.sqlalchemy import translated_errors
from platform_sessions.adapters.two_tier.change_recorder import ChangeRecorder
from platform_sessions.adapters.two_tier.database import (
    DatabaseTransaction,
    JoinedTransaction,
    SessionDatabase,
)
from platform_sessions.adapters.two_tier.lag import DatabaseLag
from platform_sessions.adapters.two_tier.metrics import TwoTierMetrics
from platform_sessions.adapters.two_tier.mirror_work import (
    ForgetSessions,
    MirrorWork,
    PutSession,
    PutSessionData,
    RekeySession,
    ended,
    outbox_entries,
)
from platform_sessions.adapters.two_tier.redis_guard import RedisGuard, RedisSkipped
from platform_sessions.domain.errors import ConcurrentUpdate, InvalidInput, StoreUnavailable
from platform_sessions.domain.ids import SessionId, UserId
from platform_sessions.domain.ports import Clock, UnitOfWork, UserSessionRepository
from platform_sessions.domain.session import SessionChanges, UserSession
from platform_sessions.domain.session_data import SessionDataChanges
from platform_sessions.domain.token import TokenDigest

logger = logging.getLogger(__name__)


class TwoTierUserSessionRepository(UserSessionRepository):
    """See the module docstring and architecture.md, "Two tiers"."""

    def __init__(
        self,
        *,
        database: SessionDatabase,
        redis_sessions: RedisUserSessionRepository,
        recorder: ChangeRecorder,
        guard: RedisGuard,
        metrics: TwoTierMetrics,
        lag: DatabaseLag,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._database = database
        self._redis = redis_sessions
        self._recorder = recorder
        self._guard = guard
        self._metrics = metrics
        self._lag = lag

    # changes: the database first, the outbox in the same transaction, then Redis

    def create(self, session: UserSession, *, max_sessions: int) -> Sequence[UserSession]:
        """INSERT (evicting over the limit) and the outbox rows; then mirror both.

        See :meth:`_expired_before` for what the database learns from Redis first.
        """
        now = self._clock.now()
        with self._database.transaction("store a new session") as tx:
            expired_before = self._expired_before(tx, session, max_sessions)
            evicted = tx.user_sessions.create(
                session, max_sessions=max_sessions, expired_before=expired_before
            )
            work: list[MirrorWork] = [PutSession(session)]
            if evicted:
                work.insert(0, ForgetSessions(session.logged_in_user_id, tuple(ended(s) for s in evicted)))
            entries = tx.outbox.add(outbox_entries(work), now)
        self._recorder.after_commit(work, entries, now)
        return evicted

    def _expired_before(self, tx: DatabaseTransaction, session: UserSession, max_sessions: int) -> datetime:
        """Before which a row of the user counts as expired in ``session``'s login.

        Eviction picks the least recently seen, so a user at the limit has the database learn
        the last_seen_at Redis has for the user's sessions first (touches are Redis-only), in
        the transaction and under the user's lock. A user below the limit evicts nobody
        whatever they were last seen, so Redis is not asked (the login's only round trip is
        its mirror write); then, as when Redis cannot say, rows are judged expired only
        beyond the lag bound.
        """
        started = session.last_seen_at
        user_id = session.user_id
        if user_id is None:
            return started  # an anonymous session evicts nothing: no user's sessions to learn about
        if tx.user_sessions.count_for_user(user_id) < max_sessions:
            return started - self._lag.bound
        try:
            in_redis = self._guard.call(
                "reading a user's sessions", lambda: self._redis.list_for_user(user_id, started)
            )
        except RedisSkipped:
            return started - self._lag.bound
        for seen in in_redis:
            tx.user_sessions.touch(seen, seen.last_seen_at)
        return started

    def update(
        self, session: UserSession, changes: SessionChanges, *, within: UnitOfWork | None = None
    ) -> UserSession:
        """The versioned UPDATE decides; Redis gets the whole new version.

        ``within`` a SQL unit of work on this database, the UPDATE and its outbox rows join
        that transaction and Redis is written once it commits; otherwise they commit in a
        transaction of their own and Redis is written at once.
        """
        joined = self._database.joined(within)
        if joined is not None:
            return self._update_joined(session, changes, joined)
        now = self._clock.now()
        try:
            with self._database.transaction("update a session") as tx:
                stored = tx.user_sessions.update(session, changes)
                work: list[MirrorWork] = [PutSession(stored)]
                entries = tx.outbox.add(outbox_entries(work), now)
        except ConcurrentUpdate:
            self._conflict(session.token_digest)
            raise
        seen = self._recorder.after_commit(work, entries, now)
        return stored.touched(seen or session.last_seen_at)

    def _update_joined(
        self, session: UserSession, changes: SessionChanges, joined: JoinedTransaction
    ) -> UserSession:
        now = self._clock.now()
        tx = joined.statements
        try:
            with translated_errors("update a session"):
                stored = tx.user_sessions.update(session, changes)
                work: list[MirrorWork] = [PutSession(stored)]
                entries = tx.outbox.add(outbox_entries(work), now)
                joined.clear_pending()
        except ConcurrentUpdate:
            # A zero-row UPDATE is no error to the database: the caller's transaction stays
            # usable for its retry. The repair reads the current row in it too, rather than
            # take a second connection while the caller holds one; but never a row this
            # transaction changed itself: that version is not committed, and Redis must not
            # show it (it would outrank the database's own if the caller rolled back).
            if joined.has_written(session.token_digest):
                self._metrics.increment("version_conflicts")
            else:
                self._conflict(session.token_digest, tx)
            raise
        joined.wrote(session.token_digest)
        joined.after_commit(lambda: self._recorder.after_commit(work, entries, now))
        # Redis's last_seen_at is learned only after the commit; the one this request resolved
        # stands in (the database's may lag by the touch interval).
        return stored.touched(session.last_seen_at)

    def write_data(
        self,
        session: UserSession,
        changes: SessionDataChanges,
        *,
        max_bytes: int,
        expected_version: int | None = None,
        within: UnitOfWork | None = None,
    ) -> UserSession:
        """The database's data write decides (its rows and the version bump, in one
        transaction, or ``within`` the caller's as :meth:`update` joins it); Redis then gets
        only the keys written, unless it lacks the version before (then the whole session)."""
        joined = self._database.joined(within)
        now = self._clock.now()
        try:
            if joined is not None:
                with translated_errors("write a session's data"):
                    stored = joined.statements.user_sessions.write_data(
                        session, changes, max_bytes=max_bytes, expected_version=expected_version
                    )
                    work: list[MirrorWork] = [PutSessionData(stored, changes)]
                    entries = joined.statements.outbox.add(outbox_entries(work), now)
                    joined.clear_pending()
            else:
                with self._database.transaction("write a session's data") as tx:
                    stored = tx.user_sessions.write_data(
                        session, changes, max_bytes=max_bytes, expected_version=expected_version
                    )
                    work = [PutSessionData(stored, changes)]
                    entries = tx.outbox.add(outbox_entries(work), now)
        except ConcurrentUpdate:
            if joined is None:
                self._conflict(session.token_digest)
            elif not joined.has_written(session.token_digest):
                self._conflict(session.token_digest, joined.statements)
            else:
                self._metrics.increment("version_conflicts")
            raise
        if joined is not None:
            joined.wrote(session.token_digest)
            joined.after_commit(lambda: self._recorder.after_commit(work, entries, now))
            return stored.touched(session.last_seen_at)
        seen = self._recorder.after_commit(work, entries, now)
        return stored.touched(seen or session.last_seen_at)

    def rotate(self, session: UserSession, new_digest: TokenDigest, new_csrf_token: str) -> UserSession:
        """The versioned UPDATE of the digest and the CSRF token; Redis forgets the old digest
        and gets the session, new CSRF token included, under the new one."""
        if new_digest.routing_tag != session.token_digest.routing_tag:
            raise InvalidInput("a rotated token must keep the routing tag of the session's user")
        now = self._clock.now()
        try:
            with self._database.transaction("rotate a session's token") as tx:
                stored = tx.user_sessions.rotate(session, new_digest, new_csrf_token)
                work: list[MirrorWork] = [RekeySession(ended(session), stored)]
                entries = tx.outbox.add(outbox_entries(work), now)
        except ConcurrentUpdate:
            self._conflict(session.token_digest)
            raise
        seen = self._recorder.after_commit(work, entries, now)
        return stored.touched(seen or session.last_seen_at)

    def delete(self, session: UserSession) -> bool:
        """DELETE by the session's id; Redis forgets (with a tombstone each) the digest the
        caller knew and, if a rotation moved the session since, the one it had when deleted,
        whatever the database had. Digests in between were forgotten by their rotations."""
        now = self._clock.now()
        with self._database.transaction("delete a session") as tx:
            current = tx.user_sessions.delete(session)
            forgotten = [ended(session)]
            if current is not None and current != session.token_digest:
                # The absolute deadline is the session's own: a rotation keeps it.
                forgotten.append(EndedSession(current, session.absolute_expires_at))
            work: list[MirrorWork] = [ForgetSessions(session.user_id, tuple(forgotten))]
            entries = tx.outbox.add(outbox_entries(work), now)
        self._recorder.after_commit(work, entries, now)
        return current is not None

    def delete_all_for_user(self, user_id: UserId, *, keep: SessionId | None = None) -> Sequence[UserSession]:
        """One DELETE ... RETURNING; Redis forgets each deleted digest."""
        now = self._clock.now()
        with self._database.transaction("delete a user's sessions") as tx:
            deleted = tx.user_sessions.delete_all_for_user(user_id, keep=keep)
            work: list[MirrorWork] = (
                [ForgetSessions(user_id, tuple(ended(s) for s in deleted))] if deleted else []
            )
            entries = tx.outbox.add(outbox_entries(work), now)
        if work:
            self._recorder.after_commit(work, entries, now)
        return deleted

    # reads and touches: Redis first

    def get(self, digest: TokenDigest, *, within: UnitOfWork | None = None) -> UserSession | None:
        """Redis if it has it, else the database (as stored there).

        ``within`` a SQL unit of work on this database, the database alone, in its
        transaction: the record writes are decided on (Redis may trail it by a failed mirror
        write, see architecture.md, "The staleness bound"), with no second connection.
        """
        joined = self._database.joined(within)
        if joined is not None:
            with translated_errors("read a session"):
                return joined.statements.user_sessions.get(digest)
        try:
            found = self._guard.read("reading a session", lambda: self._redis.get(digest))
        except RedisSkipped:
            found = None
        if found is not None:
            return found
        with self._database.transaction("read a session", read_only=True) as tx:
            return tx.user_sessions.get(digest)

    def touch(self, session: UserSession, seen_at: datetime) -> UserSession | None:
        """Redis only, unless the touch enters a new database touch interval or Redis is away."""
        try:
            touched = self._guard.call("touching a session", lambda: self._redis.touch(session, seen_at))
        except RedisSkipped:
            touched = None
        if touched is None:
            with self._database.transaction("touch a session") as tx:
                return tx.user_sessions.touch(session, seen_at)
        if self._lag.crosses_boundary(session.last_seen_at, seen_at):
            self.touch_database(session, seen_at)
        return touched

    def touch_database(self, session: UserSession, seen_at: datetime) -> None:
        """Bring the database's ``last_seen_at`` up to ``seen_at``; a failure is only logged
        (the lag credit covers a missed one)."""
        try:
            with self._database.transaction("touch a session") as tx:
                tx.user_sessions.touch(session, seen_at)
            self._metrics.increment("database_touches")
        except StoreUnavailable as error:
            logger.warning("could not bring a session's last_seen_at up to date in the database: %s", error)

    def list_for_user(self, user_id: UserId, now: datetime) -> Sequence[UserSession]:
        """The database's list, each session with Redis's ``last_seen_at`` where Redis has it,
        else credited the database's lag (Redis lost it, or is away)."""
        with self._database.transaction("list a user's sessions", read_only=True) as tx:
            stored = tx.user_sessions.list_for_user(user_id, now - self._lag.bound)
        try:
            seen = self._guard.call("listing a user's sessions", lambda: self._seen_in_redis(stored))
        except RedisSkipped:
            seen = {}
        policy = self._database.policy
        live: list[UserSession] = []
        for session in stored:
            redis_seen = seen.get(session.session_id)
            current = session.touched(redis_seen) if redis_seen else self._lag.credit(session, now)
            if current.expiry_reason(now, policy) is None:
                live.append(current)
        return sorted(live, key=lambda s: s.last_seen_at, reverse=True)

    def _seen_in_redis(self, sessions: Sequence[UserSession]) -> dict[SessionId, datetime]:
        seen: dict[SessionId, datetime] = {}
        # One pipelined round trip for all of them, not one per session.
        mirrored_all = self._redis.get_many([session.token_digest for session in sessions])
        for session, mirrored in zip(sessions, mirrored_all, strict=True):
            if mirrored is not None and mirrored.session_id == session.session_id:
                seen[session.session_id] = mirrored.last_seen_at
        return seen

    def purge_expired(self, now: datetime, *, batch_size: int = 1000) -> int:
        """Purge the database (allowing for its lag) and sweep Redis; returns the database's count."""
        if batch_size < 1:
            raise InvalidInput("batch_size must be at least 1")
        purged = 0
        cutoff = now - self._lag.bound
        while True:
            with self._database.transaction("purge expired sessions") as tx:
                deleted = tx.user_sessions.purge_batch(cutoff, batch_size)
            purged += deleted
            if deleted < batch_size:
                break
        with contextlib.suppress(RedisSkipped):  # Redis reclaims by TTL anyway
            self._guard.call(
                "sweeping expired sessions", lambda: self._redis.purge_expired(now, batch_size=batch_size)
            )
        return purged

    def _conflict(self, digest: TokenDigest, joined: DatabaseTransaction | None = None) -> None:
        """A lost race, or a Redis copy older than the database: bring Redis in line now, so
        the caller's re-read (Redis first) sees the version the database has. The current row
        is read in ``joined`` (the caller's transaction) if given, else in a short one."""
        self._metrics.increment("version_conflicts")
        try:
            if joined is not None:
                with translated_errors("read a session"):
                    stored = joined.user_sessions.get(digest)
            else:
                with self._database.transaction("read a session", read_only=True) as tx:
                    stored = tx.user_sessions.get(digest)
            if stored is not None:
                self._recorder.refresh(stored, self._clock.now())
        except StoreUnavailable:
            pass
