"""What an operator asks of a storage besides the use cases: its health, and a rewarm.

A port: every storage implements it (the composition root builds one per storage from the
adapters' probes), and the facade's ``health()`` and ``rewarm()`` answer through it, so the
result type belongs here rather than to any one adapter.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping

from attrs import field, frozen

RewarmProgress = Callable[[int, int], None]
"""Called with (sessions loaded, sessions to load) as a rewarm goes."""


@frozen
class StorageHealth:
    """A storage's state; ``None`` where a storage has no such thing (no breaker in memory).

    ``store`` says which stores these are (URLs without passwords); ``problems`` says, one
    sentence each, why ``healthy`` is false: a store unreachable, unmigrated, read-only, not
    Redis, or holding another routing key's data.
    """

    storage: str
    healthy: bool
    redis_reachable: bool | None = None
    database_reachable: bool | None = None
    breaker: str | None = None
    outbox_depth: int | None = None
    outbox_age_seconds: float | None = None
    live_sessions: int | None = None
    counters: Mapping[str, int] = field(factory=dict)
    store: str | None = None
    problems: tuple[str, ...] = ()


class StorageOperations(abc.ABC):
    """A storage's health report and rewarm."""

    @abc.abstractmethod
    def health(self) -> StorageHealth:
        """The storage's state, checked now: stores reachable and usable as configured, and
        whatever else it has (breaker, outbox, live sessions, counters). Never raises for a
        store that is down: that is an unhealthy report."""

    @abc.abstractmethod
    def rewarm(self, progress: RewarmProgress | None = None) -> int:
        """Load every live session from the storage of record into the cache in front of it;
        returns how many, calling ``progress(done, total)`` as pages load. A storage with no
        such cache raises :class:`InvalidInput`."""
