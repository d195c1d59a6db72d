"""The ``UserSessionRepository`` port on SQL: each call one short transaction, except an
update ``within`` a unit of work on the same database, which runs in that unit of work's."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from platform_sessions.adapters.sqlalchemy.errors import translated_errors
from platform_sessions.adapters.sqlalchemy.tables import SqlTables
from platform_sessions.adapters.sqlalchemy.transactions import DatabaseSessionFactory, short_transaction
from platform_sessions.adapters.sqlalchemy.unit_of_work import joinable
from platform_sessions.adapters.sqlalchemy.user_sessions_in_transaction import UserSessionsInTransaction
from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.ids import SessionId, UserId
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import UnitOfWork, UserSessionRepository
from platform_sessions.domain.session import SessionChanges, UserSession
from platform_sessions.domain.session_data import SessionDataChanges
from platform_sessions.domain.token import TokenDigest

logger = logging.getLogger(__name__)


class SqlAlchemyUserSessionRepository(UserSessionRepository):
    """User sessions in ``<prefix>user_sessions``.

    Every method opens a database session from the process's ``sessionmaker``, runs its
    statements (:class:`UserSessionsInTransaction`) in one transaction, commits and closes:
    no connection is held between calls (an update ``within`` a unit of work on the same
    ``sessionmaker`` joins that unit of work's transaction instead). Writes are compare-and-set
    on ``version``, creation is the only INSERT, and nothing ever upserts, so a session once
    deleted stays deleted.
    """

    def __init__(
        self, database_sessions: DatabaseSessionFactory, tables: SqlTables, policy: SessionPolicy
    ) -> None:
        self._database_sessions = database_sessions
        self._tables = tables
        self._policy = policy

    def create(self, session: UserSession, *, max_sessions: int) -> Sequence[UserSession]:
        """INSERT the session and evict over the limit, under the user's lock, in one transaction."""
        with self._statements("store a new session") as statements:
            return statements.create(session, max_sessions=max_sessions)

    def get(self, digest: TokenDigest, *, within: UnitOfWork | None = None) -> UserSession | None:
        """One lookup on the unique token digest index: in ``within``'s transaction if it is a
        :class:`SqlAlchemyUnitOfWork` on this ``sessionmaker`` (no second connection), else in
        a short read-only one."""
        joined = joinable(within, self._database_sessions)
        if joined is not None:
            with translated_errors("read a session"):
                return UserSessionsInTransaction(joined.database_session, self._tables, self._policy).get(
                    digest
                )
        with self._statements("read a session", read_only=True) as statements:
            return statements.get(digest)

    def update(
        self, session: UserSession, changes: SessionChanges, *, within: UnitOfWork | None = None
    ) -> UserSession:
        """One ``UPDATE ... WHERE session_id = ? AND version = ?`` of the changed columns.

        ``within`` a :class:`SqlAlchemyUnitOfWork` on this ``sessionmaker``, it runs in that
        unit of work's transaction (the caller commits); otherwise in a short one of its own.
        """
        joined = joinable(within, self._database_sessions)
        if joined is not None:
            with translated_errors("update a session"):
                statements = UserSessionsInTransaction(joined.database_session, self._tables, self._policy)
                return statements.update(session, changes)
        with self._statements("update a session") as statements:
            return statements.update(session, changes)

    def write_data(
        self,
        session: UserSession,
        changes: SessionDataChanges,
        *,
        max_bytes: int,
        expected_version: int | None = None,
        within: UnitOfWork | None = None,
    ) -> UserSession:
        """One transaction: the session row locked, its data rows read, the session row's
        version bumped, and only the changed keys' rows deleted and inserted (see
        :meth:`UserSessionsInTransaction.write_data`). ``within`` as in :meth:`update`."""
        joined = joinable(within, self._database_sessions)
        if joined is not None:
            with translated_errors("write session data"):
                statements = UserSessionsInTransaction(joined.database_session, self._tables, self._policy)
                return statements.write_data(
                    session, changes, max_bytes=max_bytes, expected_version=expected_version
                )
        with self._statements("write session data") as statements:
            return statements.write_data(
                session, changes, max_bytes=max_bytes, expected_version=expected_version
            )

    def rotate(self, session: UserSession, new_digest: TokenDigest, new_csrf_token: str) -> UserSession:
        """The versioned UPDATE of the token digest and the CSRF token; the old digest stops
        matching at once."""
        with self._statements("rotate a session's token") as statements:
            return statements.rotate(session, new_digest, new_csrf_token)

    def touch(self, session: UserSession, seen_at: datetime) -> UserSession | None:
        """An UPDATE of ``last_seen_at`` and ``expires_at`` that only moves them forward."""
        with self._statements("touch a session") as statements:
            return statements.touch(session, seen_at)

    def delete(self, session: UserSession) -> bool:
        """One ``DELETE ... WHERE session_id = ?``: by the stable id, whatever the token now."""
        with self._statements("delete a session") as statements:
            return statements.delete(session) is not None

    def list_for_user(self, user_id: UserId, now: datetime) -> Sequence[UserSession]:
        """One query on the ``user_id`` index, live rows only, most recently seen first."""
        with self._statements("list a user's sessions", read_only=True) as statements:
            return statements.list_for_user(user_id, now)

    def delete_all_for_user(self, user_id: UserId, *, keep: SessionId | None = None) -> Sequence[UserSession]:
        """One ``DELETE ... RETURNING`` of the user's rows but ``keep``."""
        with self._statements("delete a user's sessions") as statements:
            return statements.delete_all_for_user(user_id, keep=keep)

    def purge_expired(self, now: datetime, *, batch_size: int = 1000) -> int:
        """Delete expired sessions, each batch in its own short transaction.

        Short transactions keep locks and the write-ahead log small and let requests in
        between batches. Each batch is logged at DEBUG with ``purged`` and ``batch_seconds``
        as record attributes, for metrics. Stops at the first batch that is not full.
        """
        if batch_size < 1:
            raise InvalidInput("batch_size must be at least 1")
        purged = 0
        while True:
            started = time.perf_counter()
            with self._statements("purge expired sessions") as statements:
                deleted = statements.purge_batch(now, batch_size)
            seconds = time.perf_counter() - started
            logger.debug(
                "purged a batch of %d expired sessions in %.1f ms",
                deleted,
                seconds * 1000,
                extra={"purged": deleted, "batch_seconds": seconds},
            )
            purged += deleted
            if deleted < batch_size:
                return purged

    @contextmanager
    def _statements(self, action: str, *, read_only: bool = False) -> Iterator[UserSessionsInTransaction]:
        with short_transaction(self._database_sessions, action, read_only=read_only) as session:
            yield UserSessionsInTransaction(session, self._tables, self._policy)
