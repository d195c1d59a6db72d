"""Whether the database answers: one ``SELECT 1`` in a short read-only transaction."""

from __future__ import annotations

import logging

from sqlalchemy import text

from platform_sessions.adapters.sqlalchemy.transactions import SessionFactory, short_transaction
from platform_sessions.domain.errors import StoreUnavailable

logger = logging.getLogger(__name__)


def database_reachable(sessions: SessionFactory) -> bool:
    """``True`` if the database runs a trivial query (its connection checked out and back)."""
    try:
        with short_transaction(sessions, "answer a health check", read_only=True) as session:
            session.execute(text("SELECT 1"))
    except StoreUnavailable as error:
        logger.warning("health: the database is unreachable: %s", error)
        return False
    return True
