"""The database side of the two-tier storage: one transaction, the session statements and the
outbox on it, so a change and the Redis work it owes commit together or not at all.

A transaction is either the storage's own short one (:meth:`SessionDatabase.transaction`) or
a caller's SQL unit of work on the same database, joined (:meth:`SessionDatabase.joined`).
Every write transaction also deletes, on the side, the outbox rows whose Redis work is done
(:mod:`pending_clears`), so clearing them costs no transaction of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from weakref import WeakKeyDictionary

from attrs import field, frozen
from sqlalchemy.orm import Session

from platform_sessions.adapters.sqlalchemy import (
    DatabaseSessionFactory,
    SqlAlchemyUnitOfWork,
    SqlTables,
    UserSessionsInTransaction,
)
from platform_sessions.adapters.sqlalchemy.outbox import OutboxInTransaction
from platform_sessions.adapters.sqlalchemy.transactions import short_transaction
from platform_sessions.adapters.sqlalchemy.unit_of_work import joinable
from platform_sessions.adapters.two_tier.pending_clears import PendingClears
from platform_sessions.domain.errors import CommitOutcomeUnknown, StoreUnavailable
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import UnitOfWork
from platform_sessions.domain.token import TokenDigest


@frozen
class DatabaseTransaction:
    """The statements available inside one transaction."""

    user_sessions: UserSessionsInTransaction
    outbox: OutboxInTransaction


@frozen
class JoinedTransaction:
    """A caller's open SQL unit of work on this database, joined by a two-tier write: the
    statements run in the caller's transaction, and the caller commits it (or not)."""

    uow: SqlAlchemyUnitOfWork
    statements: DatabaseTransaction
    pending_clears: PendingClears
    # Digests of the sessions this unit of work has changed so far (shared by every join of
    # the same unit of work): reading one of those rows in it shows a change not yet committed.
    written: set[str]

    def wrote(self, digest: TokenDigest) -> None:
        """Note that this transaction changed the session under ``digest``."""
        self.written.add(digest.hex)

    def has_written(self, digest: TokenDigest) -> bool:
        """Whether this transaction has changed the session under ``digest`` (uncommitted)."""
        return digest.hex in self.written

    def clear_pending(self) -> None:
        """Delete the waiting outbox rows in this transaction; they wait again if it rolls back."""
        taken = self.pending_clears.take()
        if taken:
            # Registered before the DELETE runs: if the DELETE fails, the caller rolls back.
            self.uow.on_rollback(lambda: self.pending_clears.give_back(taken))
            self.statements.outbox.clear_unless_locked(taken)

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once the caller's commit is durable; never if it rolls back."""
        self.uow.on_commit(callback)


@frozen
class SessionDatabase:
    """Opens short transactions on the process's one ``sessionmaker``, or joins a caller's.

    Holds the storage's :class:`PendingClears`: outbox rows applied to Redis, to delete.
    """

    database_sessions: DatabaseSessionFactory
    tables: SqlTables
    policy: SessionPolicy
    pending_clears: PendingClears = field(factory=PendingClears)
    _written: WeakKeyDictionary[SqlAlchemyUnitOfWork, set[str]] = field(factory=WeakKeyDictionary, init=False)
    _written_lock: threading.Lock = field(factory=threading.Lock, init=False)

    @contextmanager
    def transaction(self, action: str, *, read_only: bool = False) -> Iterator[DatabaseTransaction]:
        """One transaction: committed if the block returns, rolled back if it raises; database
        failures come out as :class:`StoreUnavailable` naming ``action``.

        A write transaction (not ``read_only``) first deletes the waiting outbox rows (first,
        so a relay claiming rows in it never claims those again); if it does not commit, they
        wait for the next one.

        A commit whose acknowledgement was lost (:class:`CommitOutcomeUnknown`) is answered
        here when the database has settled it: the outbox rows this transaction wrote exist if,
        and only if, it committed. If they do, the block's caller goes on as after an
        acknowledged commit (it mirrors the change to Redis at once, so a rotated token is
        found there); otherwise the error is raised for the use case to resolve.
        """
        taken: list[int] = []
        statements: DatabaseTransaction | None = None
        try:
            with short_transaction(self.database_sessions, action, read_only=read_only) as session:
                statements = self._statements(session)
                if not read_only:
                    taken = self.pending_clears.take()
                    statements.outbox.clear_unless_locked(taken)
                yield statements
        except CommitOutcomeUnknown as unknown:
            if statements is not None and self._landed(unknown, statements.outbox.added_ids):
                return  # durable after all: the rows taken were deleted with it
            self.pending_clears.give_back(taken)
            raise
        except BaseException:
            self.pending_clears.give_back(taken)
            raise

    def joined(self, within: UnitOfWork | None) -> JoinedTransaction | None:
        """``within``'s transaction when it is a SQL unit of work on this database (so a change
        written there commits with the caller's own), else ``None``."""
        joined = joinable(within, self.database_sessions)
        if joined is not None:
            with self._written_lock:  # one unit of work per thread, but the map is shared
                written = self._written.setdefault(joined, set())
            return JoinedTransaction(
                joined, self._statements(joined.database_session), self.pending_clears, written
            )
        return None

    def flush_pending_clears(self) -> None:
        """Delete the waiting outbox rows in a transaction of their own (the relay's tick,
        ``health()``, closing). With nothing waiting it sends nothing: the transaction begins
        only at its first statement. Raises :class:`StoreUnavailable`; the rows wait again."""
        with self.transaction("clear mirrored outbox rows"):
            pass  # a write transaction deletes what waits, first thing

    def _landed(self, unknown: CommitOutcomeUnknown, added: list[int]) -> bool:
        # A relay of another process may have applied and deleted a row in between: then
        # this says "not landed", and the use case's re-read finds the change instead.
        if not unknown.settled or not added:
            return False
        try:
            with short_transaction(self.database_sessions, "check a lost commit", read_only=True) as session:
                return bool(OutboxInTransaction(session, self.tables).existing(added))
        except StoreUnavailable:
            return False

    def _statements(self, session: Session) -> DatabaseTransaction:
        return DatabaseTransaction(
            UserSessionsInTransaction(session, self.tables, self.policy),
            OutboxInTransaction(session, self.tables),
        )
