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

from platform_sessions.application.storage_operations import RewarmProgress, StorageHealth, StorageOperations
from platform_sessions.domain.errors import InvalidInput, PlatformSessionsError, StoreUnavailable

logger = logging.getLogger(__name__)

StoreCheck = Callable[[], None]
HealthReport = Callable[[], StorageHealth]
Rewarm = Callable[[RewarmProgress | None], int]


def check_while_starting(checks: Sequence[StoreCheck], store: str) -> None:
    """Run ``checks``; a misconfiguration raises, an unavailable store is logged."""
    for check in checks:
        try:
            check()
        except StoreUnavailable as error:
            logger.warning("storage %s: could not be checked while starting: %s", store, error)


class CheckedOperations(StorageOperations):
    """Every storage's operations: its own ``report`` with ``store`` named and every failing
    check as a problem (then unhealthy), and ``rewarm`` where the storage has one."""

    def __init__(
        self,
        report: HealthReport,
        *,
        store: str,
        checks: Sequence[StoreCheck] = (),
        rewarm: Rewarm | None = None,
    ) -> None:
        self._report = report
        self._store = store
        self._checks = tuple(checks)
        self._rewarm = rewarm

    def health(self) -> StorageHealth:
        base = self._report()
        problems = []
        for check in self._checks:
            try:
                check()
            except PlatformSessionsError as error:
                problems.append(f"{type(error).__name__}: {error}")
        return evolve(
            base, healthy=base.healthy and not problems, store=self._store, problems=tuple(problems)
        )

    def rewarm(self, progress: RewarmProgress | None = None) -> int:
        if self._rewarm is None:
            raise InvalidInput("rewarm needs the two-tier storage (Redis in front of the database)")
        return self._rewarm(progress)
