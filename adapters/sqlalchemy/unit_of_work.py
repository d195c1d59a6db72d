"""The unit of work on SQL: one database session, one transaction, always closed.

Besides the port, it lets adapters on the same database join its transaction: a repository
that :meth:`SqlAlchemyUnitOfWork.shares` its ``sessionmaker`` runs statements on
:attr:`SqlAlchemyUnitOfWork.database_session`, and registers what must happen once the
transaction has committed (or rolled back) with ``on_commit`` / ``on_rollback``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session

from platform_sessions.adapters.sqlalchemy.commit_outcome import commit
from platform_sessions.adapters.sqlalchemy.errors import translated_errors
from platform_sessions.adapters.sqlalchemy.platform_connection_repository import (
    SqlAlchemyPlatformConnectionRepository,
)
from platform_sessions.adapters.sqlalchemy.tables import SqlTables
from platform_sessions.adapters.sqlalchemy.transactions import DatabaseSessionFactory
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.domain.ports import UnitOfWork

logger = logging.getLogger(__name__)

Callback = Callable[[], object]


class SqlAlchemyUnitOfWork(UnitOfWork):
    """``with uow_factory() as uow: ...; uow.commit()``: see the port.

    Entering opens one database session from the process's ``sessionmaker`` (the connection
    is checked out at its first statement); leaving rolls back whatever was not committed,
    on an error or not, and closes the session in every case, so its connection always goes
    back to the pool. ``platforms`` runs on that session and never commits by itself.
    """

    def __init__(self, database_sessions: DatabaseSessionFactory, tables: SqlTables) -> None:
        super().__init__()
        self._database_sessions = database_sessions
        self._tables = tables
        self._session: Session | None = None
        self._after_commit: list[Callback] = []
        self._after_rollback: list[Callback] = []

    def shares(self, database_sessions: DatabaseSessionFactory) -> bool:
        """Whether this unit of work opens its database sessions from ``database_sessions`` (the
        process's one ``sessionmaker``), so a repository built on it may join its transaction."""
        return database_sessions is self._database_sessions

    @property
    def database_session(self) -> Session:
        """The database session of the open transaction, for adapters joining it. They run
        statements on it and never commit: the caller of the unit of work does."""
        return self._open_session()

    def on_commit(self, callback: Callback) -> None:
        """Run ``callback`` once this transaction has committed (callbacks run in order).

        The commit is already durable by then, so a failing callback is logged, never raised.
        A rollback drops the callback unrun.
        """
        self._after_commit.append(callback)

    def on_rollback(self, callback: Callback) -> None:
        """Run ``callback`` once this transaction has rolled back (explicitly, by leaving the
        block without committing, or after a failed commit); a commit drops it unrun. Failing
        callbacks are logged, never raised."""
        self._after_rollback.append(callback)

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work is used for one `with` block only")
        self._session = self._database_sessions()
        self.platforms = SqlAlchemyPlatformConnectionRepository(self._session, self._tables)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        except StoreUnavailable:
            if exc is None:
                raise
            # The block's own error is the one to report; a dead connection is closed below.
            logger.warning("rolling back a failed unit of work failed too", exc_info=True)
        finally:
            self._close()

    def _commit(self) -> None:
        with translated_errors("commit the unit of work"):
            commit(self._open_session(), "commit the unit of work")
        # A failed commit raised above and keeps both lists: the rollback that follows runs
        # the rollback callbacks. So does a commit whose outcome is unknown
        # (CommitOutcomeUnknown): commit callbacks act on a durable change, which is not
        # known to be there; rollback callbacks only undo bookkeeping, harmless if it did.
        callbacks, self._after_commit, self._after_rollback = self._after_commit, [], []
        _run_each(callbacks, "after commit")

    def _rollback(self) -> None:
        callbacks, self._after_rollback, self._after_commit = self._after_rollback, [], []
        try:
            if self._session is not None:
                with translated_errors("roll back the unit of work"):
                    self._session.rollback()
        finally:
            # Even when the rollback itself failed: the transaction is over either way (a
            # broken connection's transaction ends with it).
            _run_each(callbacks, "after rollback")

    def _open_session(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the unit of work in a `with` block")
        return self._session

    def _close(self) -> None:
        session = self._session
        if session is None:
            return
        try:
            session.close()
        except Exception:
            # Closing returns the connection to the pool, which invalidates it if it is
            # broken; nothing the caller could act on.
            logger.warning("closing a unit of work's database session failed", exc_info=True)


def joinable(
    within: UnitOfWork | None, database_sessions: DatabaseSessionFactory
) -> SqlAlchemyUnitOfWork | None:
    """``within`` when it is a SQL unit of work on ``database_sessions`` (so a repository built on the
    same ``sessionmaker`` may run in its transaction, on its ``database_session``), else ``None``."""
    if isinstance(within, SqlAlchemyUnitOfWork) and within.shares(database_sessions):
        return within
    return None


def _run_each(callbacks: list[Callback], when: str) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.exception("a callback %s of a unit of work failed", when)
