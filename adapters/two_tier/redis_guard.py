"""Every Redis call of the two-tier storage goes through the breaker, here.

A Redis failure (refused, timed out, a cluster in trouble) is counted and becomes
:class:`RedisSkipped`, which callers answer by using the database within the same request:
never a rejection. While the breaker is open Redis is not called at all. The one call let
through when the open period ends (the half-open probe) first drains the outbox, so that
nothing this process reads from Redis afterwards predates a change committed while Redis was
away; only then does the breaker close.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from platform_sessions.adapters.redis.errors import is_redis_failure
from platform_sessions.adapters.two_tier.circuit_breaker import BreakerState, CircuitBreaker
from platform_sessions.adapters.two_tier.metrics import TwoTierMetrics
from platform_sessions.domain.errors import StoreUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")


class RedisSkipped(Exception):
    """Redis was not used (breaker open) or failed; the caller uses the database instead.

    ``attempted`` tells the two apart: ``False`` when the breaker refused the call.
    """

    def __init__(self, message: str, *, attempted: bool = True) -> None:
        super().__init__(message)
        self.attempted = attempted


class RedisGuard:
    """Runs Redis calls under the circuit breaker; see the module docstring."""

    def __init__(
        self,
        breaker: CircuitBreaker,
        metrics: TwoTierMetrics,
        *,
        grace_s: float = 3.0,
        lease_s: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._breaker = breaker
        self._metrics = metrics
        self._before_close: Callable[[], object] | None = None
        self._grace_s = grace_s
        self._monotonic = monotonic
        self._trusted_from = 0.0
        self._lease_s = lease_s
        self._lease_until = 0.0

    @property
    def lease_s(self) -> float | None:
        """How long a renewal lets this process read Redis (``None``: no lease, reads always)."""
        return self._lease_s

    def renew_lease(self, drain_started: float) -> None:
        """A drain that began at ``drain_started`` (monotonic) left no outbox row committed
        before it owed: Redis reflects every change committed before then, so reads may trust
        it until ``drain_started + lease_s``. A change whose Redis write fails is acknowledged
        only once ``lease_s`` has passed since its commit (:meth:`wait_out_leases`), so no
        lease that predates it outlives its acknowledgement."""
        if self._lease_s is not None:
            self._lease_until = max(self._lease_until, drain_started + self._lease_s)

    def wait_out_leases(self, committed_at: float) -> None:
        """Block until every process's lease granted before ``committed_at`` has run out."""
        if self._lease_s is not None:
            time.sleep(max(0.0, committed_at + self._lease_s - self._monotonic()))

    def read(self, action: str, operation: Callable[[], T]) -> T:
        """:meth:`call` for a read whose answer is served as current: refused (``RedisSkipped``,
        not attempted) while this process holds no valid lease."""
        if self._lease_s is not None and self._monotonic() >= self._lease_until:
            raise RedisSkipped(f"Redis not trusted while {action}: no read lease", attempted=False)
        return self.call(action, operation)

    @property
    def breaker(self) -> CircuitBreaker:
        """The breaker (for health reports)."""
        return self._breaker

    def drain_before_closing(self, drain: Callable[[], object]) -> None:
        """Run ``drain`` (the outbox relay) in every half-open probe, before the real call."""
        self._before_close = drain

    def misses_are_authoritative(self) -> bool:
        """Whether a miss in a slot marked complete may be answered without the database.

        Not for ``grace_s`` after the breaker closed: a change this process committed while
        the probe was draining may have left its row after the drain's last batch, for the
        relay's next tick to apply; until then its session is in the database only.
        """
        return self._monotonic() >= self._trusted_from

    def call(self, action: str, operation: Callable[[], T]) -> T:
        """``operation()``, or :class:`RedisSkipped` if the breaker is open or Redis failed.

        A failure of another store inside ``operation`` (the database behind a platform cache
        refill) is no Redis failure: it propagates as it is.
        """
        if not self._breaker.allows_call():
            raise RedisSkipped(f"Redis skipped while {action}: circuit breaker open", attempted=False)
        probing = self._breaker.state is not BreakerState.CLOSED
        try:
            if probing and self._before_close is not None:
                self._before_close()
            result = operation()
        except StoreUnavailable as error:
            if is_redis_failure(error):
                self._failed(action, error)
                raise RedisSkipped(str(error)) from error
            if probing:
                # The outbox could not be drained (database away): Redis cannot be trusted yet.
                self._breaker.record_failure()
                raise RedisSkipped(f"Redis not trusted yet while {action}: {error}") from error
            raise
        except BaseException:
            # Redis answered (the operation raised a domain error after it, or a bug did).
            self._succeeded(probing)
            raise
        self._succeeded(probing)
        return result

    def _succeeded(self, probing: bool) -> None:
        if probing:
            self._trusted_from = self._monotonic() + self._grace_s
        self._breaker.record_success()

    def _failed(self, action: str, error: StoreUnavailable) -> None:
        self._metrics.increment("redis_failures")
        self._lease_until = 0.0  # whatever failed may have left Redis behind: drain first
        logger.info("Redis failed while %s, using the database: %s", action, error)
        self._breaker.record_failure()
