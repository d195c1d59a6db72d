"""The database side of the two-tier storage: one transaction, the session statements and the
outbox on it, so a change and the Redis work it owes commit together or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from attrs import frozen

from platform_sessions.adapters.sqlalchemy import SessionFactory, SqlTables, UserSessionsInTransaction
from platform_sessions.adapters.sqlalchemy.outbox import OutboxInTransaction
from platform_sessions.adapters.sqlalchemy.transactions import short_transaction
from platform_sessions.domain.policy import SessionPolicy


@frozen
class DatabaseTransaction:
    """The statements available inside one transaction."""

    sessions: UserSessionsInTransaction
    outbox: OutboxInTransaction


@frozen
class SessionDatabase:
    """Opens short transactions on the process's one ``sessionmaker``."""

    sessions: SessionFactory
    tables: SqlTables
    policy: SessionPolicy

    @contextmanager
    def transaction(self, action: str, *, read_only: bool = False) -> Iterator[DatabaseTransaction]:
        """One transaction: committed if the block returns, rolled back if it raises; database
        failures come out as :class:`StoreUnavailable` naming ``action``."""
        with short_transaction(self.sessions, action, read_only=read_only) as session:
            yield DatabaseTransaction(
                UserSessionsInTransaction(session, self.tables, self.policy),
                OutboxInTransaction(session, self.tables),
            )
