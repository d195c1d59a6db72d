"""Column types whose values mean the same on every database the adapters support."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Dialect
from sqlalchemy.types import DateTime, TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in time, stored in UTC and read back as a timezone-aware UTC ``datetime``.

    PostgreSQL keeps it in ``timestamp with time zone``. SQLite has no time type: SQLAlchemy
    stores a fixed-width ISO text with microseconds, so this type converts to naive UTC on the
    way in (every stored value in one zone, which keeps text order equal to time order for
    the ``expires_at`` index) and marks it UTC on the way out. Either way a value read back
    compares equal to the one written, microseconds included.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes (their zone would be a guess) and convert to UTC."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a timezone-aware datetime is required; naive ones are ambiguous")
        in_utc = value.astimezone(UTC)
        return in_utc.replace(tzinfo=None) if dialect.name == "sqlite" else in_utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Give back an aware UTC datetime, whatever zone the database session reports in."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
