"""The checks a storage makes of its stores: once while starting, and on every health report.

Each check is a call that returns if the store is usable as configured and raises otherwise
(``verify_redis``, ``verify_database``). While starting, a :class:`MisconfiguredStore` (another
routing key's data, a replica, an endpoint that is not Redis) stops ``bootstrap``: a process
that would silently miss sessions must not start. A store that does not answer, or whose
schema is behind, only logs a warning then: stores start in any order, and a deployment may
migrate after the processes are up; ``health()`` reports it as unhealthy until it is fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from attrs import evolve

from platform_sessions.adapters.two_tier import StorageHealth
from platform_sessions.domain.errors import PlatformSessionsError, StoreUnavailable

logger = logging.getLogger(__name__)

StoreCheck = Callable[[], None]
HealthReport = Callable[[], StorageHealth]


def check_while_starting(checks: Sequence[StoreCheck], store: str) -> None:
    """Run ``checks``; a misconfiguration raises, an unavailable store is logged."""
    for check in checks:
        try:
            check()
        except StoreUnavailable as error:
            logger.warning("storage %s: could not be checked while starting: %s", store, error)


def checked_health(report: HealthReport, checks: Sequence[StoreCheck], store: str) -> HealthReport:
    """``report`` with ``store`` named and every failing check as a problem (then unhealthy)."""

    def checked() -> StorageHealth:
        base = report()
        problems = []
        for check in checks:
            try:
                check()
            except PlatformSessionsError as error:
                problems.append(f"{type(error).__name__}: {error}")
        return evolve(base, healthy=base.healthy and not problems, store=store, problems=tuple(problems))

    return checked
