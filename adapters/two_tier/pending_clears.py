"""Outbox rows whose Redis work is done but which are not deleted yet.

Deleting them right after the Redis write would cost every change a second transaction. Their
ids wait here instead, and the next write transaction this storage opens deletes them on the
side (``SessionDatabase``); so do the relay's tick, ``health()`` and closing, in a transaction
of their own, so an idle process clears within one relay interval.

Why a row may wait: it says "bring Redis in line with what the database says now about this
digest". Another process's relay or breaker probe that claims it meanwhile applies the current
state again, put-if-newer or forget with its tombstone, which is idempotent: the cost of the
delay is at most one needless re-application. (This process's own relay and probe do not: the
transactions they claim rows in delete what waits first.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

# Above this many waiting ids, the writer clears at once in a transaction of its own, as if
# nothing were waiting: the holder stays small, and so does the one DELETE that clears it.
MAX_PENDING = 1000


class PendingClears:
    """A thread-safe set of outbox row ids to delete; one per storage (per process)."""

    def __init__(self, limit: int = MAX_PENDING) -> None:
        self._lock = threading.Lock()
        self._ids: set[int] = set()
        self._limit = limit

    def add(self, entry_ids: Iterable[int]) -> bool:
        """Remember ``entry_ids``; ``False`` when more than the limit now wait (clear now)."""
        with self._lock:
            self._ids.update(entry_ids)
            return len(self._ids) <= self._limit

    def take(self) -> list[int]:
        """Every waiting id, now owned by the caller's transaction (ascending, so concurrent
        deletes meet rows in one order)."""
        with self._lock:
            taken, self._ids = sorted(self._ids), set()
        return taken

    def give_back(self, entry_ids: Iterable[int]) -> None:
        """Return ids whose deleting transaction did not commit."""
        with self._lock:
            self._ids.update(entry_ids)

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)
