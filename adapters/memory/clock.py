"""A clock that tests move by hand."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from platform_sessions.domain.ports import Clock


class ManualClock(Clock):
    """Stands still until told to move; starts at the real current time unless given one."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC).replace(microsecond=0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new time."""
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (a timezone-aware datetime)."""
        with self._lock:
            self._now = moment
