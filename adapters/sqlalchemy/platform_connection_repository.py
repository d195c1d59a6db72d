"""The platform connections' repository, inside a unit of work's database session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, insert, select, update
from sqlalchemy.orm import Session

from platform_sessions.adapters.sqlalchemy.errors import translated_errors
from platform_sessions.adapters.sqlalchemy.platform_records import platform_from_row, platform_values
from platform_sessions.adapters.sqlalchemy.tables import PlatformConnectionColumns, SqlTables
from platform_sessions.domain.errors import PlatformNotFound
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.ports import PlatformConnectionRepository

_FRESH = {"populate_existing": True}
_NO_SYNC = {"synchronize_session": False}


def by_name(platforms: Sequence[PlatformConnection]) -> list[PlatformConnection]:
    """Ordered by name, case-insensitively, then id.

    Sorted here rather than by ``ORDER BY lower(name)``: SQLite's lower() folds ASCII only
    and PostgreSQL's depends on the collation, while every store must list alike.
    """
    return sorted(platforms, key=lambda p: (p.name.lower(), p.id))


class SqlAlchemyPlatformConnectionRepository(PlatformConnectionRepository):
    """Runs each method as statements on the unit of work's session; never commits.

    Each write is its own statement, executed at once and in call order, so the partial
    unique index judges "one default per user" after every statement, as the use cases
    expect (they unset the old default before setting the new one).
    """

    def __init__(self, session: Session, tables: SqlTables) -> None:
        self._session = session
        self._rows = tables.platform_connections

    def get(self, platform_id: PlatformId) -> PlatformConnection | None:
        """By primary key, as this transaction sees it (its own writes included)."""
        with translated_errors("read a platform connection"):
            row = self._session.scalars(self._select().where(self._rows.id == platform_id)).one_or_none()
        return platform_from_row(row) if row is not None else None

    def list_for_user(self, user_id: UserId) -> Sequence[PlatformConnection]:
        """On the ``user_id`` index, sorted by name like every store."""
        with translated_errors("list platform connections"):
            found = self._session.scalars(self._select().where(self._rows.user_id == user_id)).all()
        return by_name([platform_from_row(row) for row in found])

    def add(self, platform: PlatformConnection) -> None:
        """INSERT now; a duplicate id or a second default is a :class:`ConcurrentUpdate`."""
        now = _audit_time()
        with translated_errors("add a platform connection"):
            self._session.execute(
                insert(self._rows).values(
                    id=platform.id,
                    last_used_at=platform.last_used_at,
                    created_at=now,
                    updated_at=now,
                    **platform_values(platform),
                )
            )

    def update(self, platform: PlatformConnection) -> None:
        """UPDATE every field but ``last_used_at``; :class:`PlatformNotFound` if no row matched."""
        rows = self._rows
        with translated_errors("update a platform connection"):
            result = self._session.execute(
                update(rows)
                .where(rows.id == platform.id)
                .values(updated_at=_audit_time(), **platform_values(platform))
                .execution_options(**_NO_SYNC)
            )
        if cast(CursorResult[Any], result).rowcount == 0:
            raise PlatformNotFound(f"no platform {platform.id!r}")

    def remove(self, platform_id: PlatformId) -> None:
        """DELETE by primary key; nothing to delete is fine."""
        with translated_errors("remove a platform connection"):
            self._session.execute(
                delete(self._rows).where(self._rows.id == platform_id).execution_options(**_NO_SYNC)
            )

    def stamp_last_used(self, platform_id: PlatformId, at: datetime) -> None:
        """UPDATE of the one column, touching nothing else (``updated_at`` included)."""
        rows = self._rows
        with translated_errors("stamp a platform connection"):
            self._session.execute(
                update(rows)
                .where(rows.id == platform_id)
                .values(last_used_at=at)
                .execution_options(**_NO_SYNC)
            )

    def _select(self) -> Select[PlatformConnectionColumns]:
        return select(self._rows).execution_options(**_FRESH)


def _audit_time() -> datetime:
    # created_at / updated_at are bookkeeping for operators, not domain time: the wall clock.
    return datetime.now(UTC)
