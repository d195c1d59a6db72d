"""The unit of work on SQL: one database session, one transaction, always closed."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session

from platform_sessions.adapters.sqlalchemy.errors import translated_errors
from platform_sessions.adapters.sqlalchemy.platform_connection_repository import (
    SqlAlchemyPlatformConnectionRepository,
)
from platform_sessions.adapters.sqlalchemy.tables import SqlTables
from platform_sessions.adapters.sqlalchemy.transactions import SessionFactory
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.domain.ports import UnitOfWork

logger = logging.getLogger(__name__)


class SqlAlchemyUnitOfWork(UnitOfWork):
    """``with uow_factory() as uow: ...; uow.commit()``: see the port.

    Entering opens one database session from the process's ``sessionmaker`` (the connection
    is checked out at its first statement); leaving rolls back whatever was not committed,
    on an error or not, and closes the session in every case, so its connection always goes
    back to the pool. ``platforms`` runs on that session and never commits by itself.
    """

    def __init__(self, sessions: SessionFactory, tables: SqlTables) -> None:
        super().__init__()
        self._sessions = sessions
        self._tables = tables
        self._session: Session | None = None

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work is used for one `with` block only")
        self._session = self._sessions()
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
            self._open_session().commit()

    def _rollback(self) -> None:
        if self._session is None:
            return
        with translated_errors("roll back the unit of work"):
            self._session.rollback()

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
