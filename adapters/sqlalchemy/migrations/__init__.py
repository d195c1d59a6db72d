"""Alembic migrations of the platform-sessions tables, shipped inside the package.

Run them with :func:`platform_sessions.adapters.sqlalchemy.upgrade_database`, which tells
them the table prefix; every table, index and Alembic's own version table carry it, so
several prefixes (and the application's own migrations) share a database without clashing.
"""

from __future__ import annotations

from alembic import context

TABLE_PREFIX_ATTRIBUTE = "platform_sessions.table_prefix"
CONNECTION_ATTRIBUTE = "connection"


def table_prefix() -> str:
    """The prefix of the tables being migrated (for use inside a revision's functions)."""
    prefix: str = context.config.attributes[TABLE_PREFIX_ATTRIBUTE]
    return prefix
