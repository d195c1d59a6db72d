"""Counters of the two-tier storage, for ``health()`` and for logs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from platform_sessions.adapters.two_tier.circuit_breaker import BreakerState

logger = logging.getLogger(__name__)

COUNTERS = (
    "resolves",
    "redis_misses",
    "authoritative_misses",
    "database_fallbacks",
    "refills",
    "redis_failures",
    "breaker_opened",
    "breaker_closed",
    "version_conflicts",
    "undecodable_records",
    "mirror_failures",
    "relayed",
    "rewarms",
    "database_touches",
)


class TwoTierMetrics:
    """Thread-safe monotonic counters, named in :data:`COUNTERS`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTERS, 0)

    def increment(self, name: str, by: int = 1) -> None:
        """Add ``by`` to counter ``name``."""
        with self._lock:
            self._counts[name] += by

    def snapshot(self) -> Mapping[str, int]:
        """Every counter's current value (a copy)."""
        with self._lock:
            return dict(self._counts)

    def breaker_moved(self, old: BreakerState, new: BreakerState) -> None:
        """The breaker's transition hook: count and log openings and closings."""
        if new is BreakerState.OPEN:
            self.increment("breaker_opened")
            logger.warning(
                "Redis circuit breaker opened (was %s): serving from the database alone", old.value
            )
        elif new is BreakerState.CLOSED:
            self.increment("breaker_closed")
            logger.warning("Redis circuit breaker closed: Redis is used again")
