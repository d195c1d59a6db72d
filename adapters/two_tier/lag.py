"""How far the database's ``last_seen_at`` may lag behind Redis, and what that means for expiry.

Touches are Redis-only; the database hears of one only when it crosses a boundary of the
database touch interval (``I``, 5 min by default). Whoever touched last moved Redis to
``L``; the first touch that entered ``L``'s interval wrote the database, so the database holds
at least the start of that interval: ``L - D < I``. And ``L`` itself trails the user's real
activity by less than the touch interval ``T``. So a session judged from the database alone is
credited ``I + T``: a failover never logs out an active user, and an idle one lives at most
``I + T`` longer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from attrs import frozen

from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.session import UserSession


@frozen
class DatabaseLag:
    """The database touch interval, and the credit it implies."""

    database_touch_interval: timedelta
    touch_interval: timedelta

    @classmethod
    def of(cls, policy: SessionPolicy, database_touch_interval: timedelta) -> DatabaseLag:
        """The lag for ``policy`` with the given database touch interval."""
        return cls(database_touch_interval, policy.touch_interval)

    @property
    def bound(self) -> timedelta:
        """The most the database's ``last_seen_at`` trails the user's real activity."""
        return self.database_touch_interval + self.touch_interval

    def crosses_boundary(self, before: datetime, after: datetime) -> bool:
        """Whether a touch from ``before`` to ``after`` enters a new database touch interval."""
        step = self.database_touch_interval
        return _bucket(after, step) > _bucket(before, step)

    def credit(self, session: UserSession, now: datetime) -> UserSession:
        """``session`` as read from the database, seen as late as the lag allows (never after now)."""
        return session.touched(min(session.last_seen_at + self.bound, max(now, session.last_seen_at)))


def _bucket(moment: datetime, step: timedelta) -> int:
    return int(moment.timestamp() // step.total_seconds())
