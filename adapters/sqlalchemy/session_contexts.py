"""The ``SessionContextQuery`` port on SQL: a request's resolve in one short transaction.

Composed from the repository and the directory, a resolve cost a transaction per call: the
session, maybe its touch, then the active, requested and default platforms. Here it is one
transaction of two statements, three with a touch: the session by its digest, the touch when
one is due, and one SELECT of the few platform rows of the user that the context needs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import exc, or_, select
from sqlalchemy.orm import Session

from platform_sessions.adapters.sqlalchemy.platform_records import platform_from_row
from platform_sessions.adapters.sqlalchemy.sqlite_connections import write_lock_refused
from platform_sessions.adapters.sqlalchemy.tables import SqlTables
from platform_sessions.adapters.sqlalchemy.transactions import DatabaseSessionFactory, short_transaction
from platform_sessions.adapters.sqlalchemy.user_sessions_in_transaction import UserSessionsInTransaction
from platform_sessions.domain.context import SessionSnapshot
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.domain.ids import PlatformId
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import SessionContextQuery
from platform_sessions.domain.session import UserSession
from platform_sessions.domain.token import TokenDigest

logger = logging.getLogger(__name__)


class _TouchNeedsWriter(Exception):
    """The touch could not write in a transaction begun as a reader (SQLite under contention)."""


class SqlAlchemySessionContextQuery(SessionContextQuery):
    """Session, touch and platforms in one transaction, with the repository's own statements.

    The transaction begins as a reader: most resolves only read, and on SQLite a reader never
    queues for the write lock. A due touch writes in that same transaction, which PostgreSQL
    always allows. SQLite refuses it at once when another writer holds the lock or committed
    since the read (a tab's burst of requests after a quiet minute, say): then the resolve
    starts over in a transaction begun as a writer, which waits for the lock.
    """

    def __init__(
        self, database_sessions: DatabaseSessionFactory, tables: SqlTables, policy: SessionPolicy
    ) -> None:
        self._database_sessions = database_sessions
        self._tables = tables
        self._policy = policy

    def load(
        self,
        digest: TokenDigest,
        *,
        now: datetime,
        requested_platform_id: PlatformId | None = None,
    ) -> SessionSnapshot | None:
        try:
            return self._load(digest, now, requested_platform_id, as_writer=False)
        except _TouchNeedsWriter:
            logger.debug("a touch met another writer; resolving again in a write transaction")
            return self._load(digest, now, requested_platform_id, as_writer=True)

    def _load(
        self, digest: TokenDigest, now: datetime, requested_platform_id: PlatformId | None, *, as_writer: bool
    ) -> SessionSnapshot | None:
        answer: list[SessionSnapshot | None] = []
        try:
            with short_transaction(
                self._database_sessions, "resolve a session", read_only=not as_writer
            ) as database:
                statements = UserSessionsInTransaction(database, self._tables, self._policy)
                session = statements.get(digest)
                if session is None:
                    return None
                live = session.expiry_reason(now, self._policy) is None
                if live and session.is_touch_due(now, self._policy):
                    touched = _touch(statements, session, now, may_retry=not as_writer)
                    if touched is None:  # deleted since it was read
                        return None
                    session = touched
                answer.append(self._snapshot(database, session, requested_platform_id))
        except StoreUnavailable:
            if not answer:
                raise
            # Only the COMMIT failed (its reply lost, say): what was read stands, and the touch,
            # stored or not, is neither versioned nor needed (the next resolve touches again).
            logger.warning("a resolve's commit failed after its reads; answering from them", exc_info=True)
        return answer[0]

    def _snapshot(
        self, database: Session, session: UserSession, requested_platform_id: PlatformId | None
    ) -> SessionSnapshot:
        """One SELECT of the user's active, requested and default platform rows.

        Filtered on the session's user like the directory's reads, so a platform of another
        user, given as the active or requested id, is simply not found.
        """
        if session.user_id is None:
            return SessionSnapshot(session=session)  # a visitor's session has no platforms
        rows = self._tables.platform_connections
        wanted = [id_ for id_ in (session.active_platform_id, requested_platform_id) if id_ is not None]
        needed = or_(rows.id.in_(wanted), rows.is_default) if wanted else rows.is_default
        found = {
            row.id: platform_from_row(row)
            for row in database.scalars(select(rows).where(rows.user_id == session.user_id, needed))
        }
        return SessionSnapshot(
            session=session,
            active_platform=_by_id(found, session.active_platform_id),
            # The partial unique index allows one default per user at most.
            default_platform=next((platform for platform in found.values() if platform.is_default), None),
            requested_platform=_by_id(found, requested_platform_id),
        )


def _by_id(
    found: Mapping[PlatformId, PlatformConnection], platform_id: PlatformId | None
) -> PlatformConnection | None:
    return found.get(platform_id) if platform_id is not None else None


def _touch(
    statements: UserSessionsInTransaction, session: UserSession, now: datetime, *, may_retry: bool
) -> UserSession | None:
    try:
        return statements.touch(session, now)
    except exc.OperationalError as error:
        if may_retry and write_lock_refused(error):
            raise _TouchNeedsWriter from error
        raise
