"""Time, as a port, so that tests control expiry and touch throttling."""

from __future__ import annotations

import abc
from datetime import datetime


class Clock(abc.ABC):
    """The current time."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The current time as a timezone-aware UTC datetime."""
