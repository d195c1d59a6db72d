"""The platform directory on SQL: reads committed platform connections."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from platform_sessions.adapters.sqlalchemy.platform_connection_repository import by_name
from platform_sessions.adapters.sqlalchemy.platform_records import platform_from_row
from platform_sessions.adapters.sqlalchemy.tables import SqlTables
from platform_sessions.adapters.sqlalchemy.transactions import DatabaseSessionFactory, short_transaction
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.ports import PlatformDirectory


class SqlAlchemyPlatformDirectory(PlatformDirectory):
    """Each answer is one indexed query in its own short read-only transaction.

    It caches nothing, so :meth:`invalidate` has nothing to do; a cache belongs in front of
    it (the two-tier storage), not in it.
    """

    def __init__(self, database_sessions: DatabaseSessionFactory, tables: SqlTables) -> None:
        self._database_sessions = database_sessions
        self._rows = tables.platform_connections

    def get(self, user_id: UserId, platform_id: PlatformId) -> PlatformConnection | None:
        """By primary key, owner-checked in the same query."""
        rows = self._rows
        with short_transaction(
            self._database_sessions, "read a platform connection", read_only=True
        ) as session:
            row = session.scalars(
                select(rows).where(rows.id == platform_id, rows.user_id == user_id)
            ).one_or_none()
            return platform_from_row(row) if row is not None else None

    def list_for_user(self, user_id: UserId) -> Sequence[PlatformConnection]:
        """On the ``user_id`` index, sorted by name like every store."""
        rows = self._rows
        with short_transaction(
            self._database_sessions, "list platform connections", read_only=True
        ) as session:
            found = session.scalars(select(rows).where(rows.user_id == user_id)).all()
            return by_name([platform_from_row(row) for row in found])

    def default_for(self, user_id: UserId) -> PlatformConnection | None:
        """On the partial one-default index."""
        rows = self._rows
        with short_transaction(
            self._database_sessions, "read the default platform", read_only=True
        ) as session:
            # Exactly the partial index's predicate, so SQLite and PostgreSQL can both use it.
            row = session.scalars(select(rows).where(rows.user_id == user_id, rows.is_default)).one_or_none()
            return platform_from_row(row) if row is not None else None

    def invalidate(self, user_id: UserId) -> None:
        """Nothing cached, nothing to forget."""
