"""The real clock."""

from __future__ import annotations

from datetime import UTC, datetime

from platform_sessions.domain.ports import Clock


class SystemClock(Clock):
    """The operating system's wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
