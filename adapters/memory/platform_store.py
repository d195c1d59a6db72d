"""The committed state of the in-memory platform connections, shared by UoW and directory."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from platform_sessions.domain.errors import ConcurrentUpdate
from platform_sessions.domain.ids import PlatformId
from platform_sessions.domain.platform import PlatformConnection

Rows = dict[PlatformId, PlatformConnection]


class InMemoryPlatformStore:
    """Platform connections as committed; changed only by :meth:`commit`, atomically."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: Rows = {}

    def rows(self) -> Mapping[PlatformId, PlatformConnection]:
        """A consistent copy of the committed rows."""
        with self._lock:
            return dict(self._rows)

    def commit(self, replay: Callable[[Rows], None]) -> None:
        """Apply ``replay`` to a copy of the current rows and keep the result if it is valid.

        Replaying the transaction's operations on the latest state, rather than installing a
        snapshot, gives the row-level outcome a database gives two concurrent transactions.
        Raises :class:`ConcurrentUpdate` when the result would break "one default per user",
        as the database's partial unique index would.
        """
        with self._lock:
            candidate = dict(self._rows)
            replay(candidate)
            _check_one_default_per_user(candidate)
            self._rows = candidate


def _check_one_default_per_user(rows: Rows) -> None:
    owners_with_default: set[str] = set()
    for platform in rows.values():
        if not platform.is_default:
            continue
        if platform.user_id in owners_with_default:
            raise ConcurrentUpdate("a user can have only one default platform")
        owners_with_default.add(platform.user_id)
