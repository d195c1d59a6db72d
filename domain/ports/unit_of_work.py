"""The database session: one transaction, committed explicitly or rolled back.

Not to be confused with a user session. A unit of work is opened per use case, used, and
closed; nothing of it outlives the ``with`` block.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from types import TracebackType
from typing import Self

from platform_sessions.domain.events import DomainEvent
from platform_sessions.domain.ports.platform_connections import PlatformConnectionRepository


class UnitOfWork(abc.ABC):
    """A context manager around one transaction; see the module docstring.

    Leaving the block without :meth:`commit` (or with an exception) rolls back. Events
    recorded with :meth:`record` are handed out by :meth:`collect_new_events` once committed.
    """

    platforms: PlatformConnectionRepository

    def __init__(self) -> None:
        self._pending_events: list[DomainEvent] = []
        self._committed_events: list[DomainEvent] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Rolling back after a commit is a no-op, so this is always safe.
        self.rollback()

    def commit(self) -> None:
        """Make every change of this unit of work durable and visible, atomically.

        Raises :class:`ConcurrentUpdate` when a database constraint (one default per user)
        rejects the changes, :class:`StoreUnavailable` when the database cannot be reached, and
        :class:`CommitOutcomeUnknown` (a :class:`StoreUnavailable`) when the connection was lost
        while committing: the changes may or may not be durable, and no commit callback ran.
        """
        self._commit()
        self._committed_events.extend(self._pending_events)
        self._pending_events.clear()

    def rollback(self) -> None:
        """Discard every uncommitted change and the events recorded with them."""
        self._pending_events.clear()
        self._rollback()

    def record(self, event: DomainEvent) -> None:
        """Remember ``event`` to be published if, and only if, this unit of work commits."""
        self._pending_events.append(event)

    def collect_new_events(self) -> list[DomainEvent]:
        """The events of committed changes not collected before, oldest first."""
        events, self._committed_events = self._committed_events, []
        return events

    @abc.abstractmethod
    def _commit(self) -> None:
        """Commit the underlying transaction (the adapter's part of :meth:`commit`)."""

    @abc.abstractmethod
    def _rollback(self) -> None:
        """Roll back the underlying transaction; a no-op when nothing is pending."""


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Opens a new unit of work: one per use case call, so concurrent requests never share one."""
