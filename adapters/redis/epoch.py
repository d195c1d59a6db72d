"""Timestamps as integer epoch microseconds: exact both ways, and comparable inside Lua.

Microseconds since 1970 stay below 2**53 until the year 2255, so Lua's doubles hold them
exactly; Python's datetimes have microsecond resolution, so a round trip is lossless.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """``moment`` (timezone-aware) as whole microseconds since the epoch."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """A timezone-aware UTC datetime from microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=micros)


def duration_micros(duration: timedelta) -> int:
    """``duration`` in whole microseconds."""
    return duration // _MICROSECOND


def ttl_millis(until: datetime, now: datetime) -> int:
    """Milliseconds from ``now`` to ``until``, rounded up and at least 1 (a valid PEXPIRE)."""
    remaining = until - now
    return max(1, -(-remaining // timedelta(milliseconds=1)))
