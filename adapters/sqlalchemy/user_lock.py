"""A lock on one user's sessions for the length of a transaction.

Creating a session and enforcing the per-user limit must see every other session of the
user, including one being created at the same moment by another request. Row locks cannot
give that (a concurrent INSERT is not there yet to lock), so:

- PostgreSQL: a transaction-scoped advisory lock keyed by the table and the user; released
  by commit or rollback, never leaked. Different users almost never share a key, and when
  two do they only wait for each other.
- SQLite: nothing to add; a write transaction holds the whole database's write lock.
- Other databases: ``SELECT ... FOR UPDATE`` on the user's rows, which serializes writers
  once the user has a session (best effort for a first login).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platform_sessions.adapters.sqlalchemy.tables import SqlTables
from platform_sessions.domain.ids import UserId


def lock_user_sessions(session: Session, tables: SqlTables, user_id: UserId) -> None:
    """Hold the lock on ``user_id``'s sessions until ``session``'s transaction ends."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return
    if dialect == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(advisory_lock_key(tables, user_id))))
        return
    rows = tables.user_sessions
    session.execute(select(rows.session_id).where(rows.user_id == user_id).with_for_update())


def advisory_lock_key(tables: SqlTables, user_id: UserId) -> int:
    """The advisory lock key of one user's sessions under one table prefix."""
    return advisory_lock_key_for(f"{tables.prefix}user_sessions\x00{user_id}")


def advisory_lock_key_for(name: str) -> int:
    """A signed 64-bit key for PostgreSQL's advisory locks, derived from ``name``."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
