"""The two-tier storage's knobs, validated once."""

from __future__ import annotations

from datetime import timedelta

from attrs import field, frozen

from platform_sessions.adapters.two_tier.circuit_breaker import BreakerSettings
from platform_sessions.domain.errors import InvalidInput


def _positive_seconds(_: object, attribute: object, value: float) -> None:
    if value <= 0:
        raise InvalidInput(f"{getattr(attribute, 'name', 'interval')} must be positive")


@frozen
class TwoTierSettings:
    """- ``breaker``: failures that open the Redis breaker, and how long it stays open.
    - ``database_touch_interval``: how often the database's ``last_seen_at`` catches up with
      Redis's (a touch crossing a boundary of this interval writes it).
    - ``relay_interval_s``: how often each process's relay drains the outbox and checks the
      completeness markers; also the bound of the staleness window (architecture.md).
    - ``auto_rewarm``: rewarm (under a Redis lock) when the markers are gone.
    - ``run_relay``: start the relay thread (tests that drive ``tick`` by hand turn it off).
      With the relay running, reads trust Redis only under a lease each tick renews after a
      complete drain (``read_lease_s``, by default two relay intervals and a quarter second),
      and a change whose Redis write failed is answered only once that long has passed since
      its commit (architecture.md, "The staleness bound").
    """

    breaker: BreakerSettings = field(factory=BreakerSettings)
    database_touch_interval: timedelta = timedelta(minutes=5)
    relay_interval_s: float = field(default=1.0, validator=_positive_seconds)
    auto_rewarm: bool = True
    run_relay: bool = True
    read_lease_s: float | None = None

    @property
    def lease_s(self) -> float | None:
        """The read lease in force: ``None`` without a relay to renew it."""
        if not self.run_relay:
            return None
        return self.read_lease_s if self.read_lease_s is not None else 2 * self.relay_interval_s + 0.25

    def __attrs_post_init__(self) -> None:
        if self.database_touch_interval <= timedelta(0):
            raise InvalidInput("database_touch_interval must be positive")
