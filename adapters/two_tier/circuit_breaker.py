"""A circuit breaker for the cache tier: stop calling Redis while it is failing.

While Redis is down every call would wait for a connect or read timeout before falling back to
the database; the breaker turns that wait into an immediate "skip Redis" after a few failures,
and lets a single probe through now and then to notice when Redis is back.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable

from attrs import frozen


class BreakerState(enum.Enum):
    """Closed: calls go through. Open: calls are skipped. Half-open: one probe is in flight."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@frozen
class BreakerSettings:
    """How many consecutive failures open the breaker, and how long it stays open."""

    failure_threshold: int = 3
    open_seconds: float = 2.0


Transition = Callable[[BreakerState, BreakerState], None]


class CircuitBreaker:
    """Thread-safe; ask :meth:`allows_call` before a call, then report its outcome."""

    def __init__(
        self,
        settings: BreakerSettings | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        on_transition: Transition | None = None,
    ) -> None:
        self._settings = settings or BreakerSettings()
        self._monotonic = monotonic
        self._on_transition = on_transition
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker past its wait still reads as open until probed).

        One attribute read, atomic under the GIL: no lock needed to read it.
        """
        return self._state

    def allows_call(self) -> bool:
        """Whether the caller should try the protected service now.

        When the open period has passed, exactly one caller gets ``True`` (the probe) and the
        breaker turns half-open until that caller reports.
        """
        seen = self._state  # one read, no lock: a stale read costs at most one extra call
        if seen is BreakerState.CLOSED:
            return True  # the hot path, every request
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True
            waited = self._monotonic() - self._opened_at
            if self._state is BreakerState.OPEN and waited >= self._settings.open_seconds:
                self._move(BreakerState.HALF_OPEN)
                return True
            return False

    def record_success(self) -> None:
        """The call went through: close the breaker and forget past failures."""
        seen = self._state
        if seen is BreakerState.CLOSED and self._failures == 0:
            return  # nothing to forget: the hot path takes no lock
        with self._lock:
            self._failures = 0
            if self._state is not BreakerState.CLOSED:
                self._move(BreakerState.CLOSED)

    def record_failure(self) -> None:
        """The call failed (refused, timed out): count it; open after enough in a row."""
        with self._lock:
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or (
                self._state is BreakerState.CLOSED and self._failures >= self._settings.failure_threshold
            ):
                self._opened_at = self._monotonic()
                self._move(BreakerState.OPEN)

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if self._on_transition is not None:
            self._on_transition(old, new)
