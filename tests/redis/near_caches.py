"""Near caches for tests: built as ``open_near_cache`` builds them, on a clock the test moves.

The listener's deadlines (reconnect after ``retry_after_s``, trust for ``max_silence_s``) are
then reached by advancing :class:`Seconds`, never by sleeping, and never by accident on a
slow machine: a test that does not move the clock sees no PING and no reconnect. There is no
heartbeat thread either: a test calls `maintain()` where a beat would come.
"""

from __future__ import annotations

from typing import Any, Protocol

from platform_sessions.adapters.redis import NearCache, RedisOptions
from platform_sessions.adapters.redis.invalidation_listener import InvalidationListener, connection_factory
from platform_sessions.domain.context import SessionContext
from platform_sessions.entrypoints.facade import PlatformSessions

MAX_SILENCE_S = 2.0
RETRY_AFTER_S = 1.0
# Before a fill: maybe a database fallback, a platform cache refill, a touch (each not remembered).
RESOLVES_BEFORE_A_FILL = 4


class Seconds:
    """A monotonic clock, in seconds, that stands still until a test advances it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def near_cache_on(
    url: str,
    seconds: Seconds,
    *,
    options: RedisOptions,
    size: int = 100,
    max_silence_s: float = MAX_SILENCE_S,
    retry_after_s: float = RETRY_AFTER_S,
) -> NearCache[Any]:
    """A near cache for the server at ``url`` whose listener runs on ``seconds``."""
    connect = connection_factory(
        url, connect_timeout=options.connect_timeout, read_timeout=options.read_timeout
    )
    # The same prefix as open_near_cache: every key of the storage starts with it.
    listener = InvalidationListener(
        connect,
        options.key_prefix + "{",
        max_silence_s=max_silence_s,
        retry_after_s=retry_after_s,
        clock=seconds,
    )
    # No heartbeat thread: the test is the heartbeat, calling maintain() where a beat would
    # come, so that connecting, PINGs and reconnects happen exactly when a test says.
    cache: NearCache[Any] = NearCache(listener, size=size)
    cache.maintain()  # the first beat: connect
    return cache


class NearCachedProcess(Protocol):
    """A process in a test: its facade and the near cache behind it."""

    @property
    def sessions(self) -> PlatformSessions: ...

    @property
    def near(self) -> NearCache[Any]: ...


def remembered(process: NearCachedProcess, token: str, **options: Any) -> SessionContext:
    """Resolve until the near cache holds the result (it was filled, or already there).

    Not remembered: records refilled from the backing store (no report covers them), a resolve
    that touched (its own write's report spoils the fill), an answer from the database.
    """
    stats = process.near.stats
    for _ in range(RESOLVES_BEFORE_A_FILL):
        fills, hits = stats.fills, stats.hits
        context = process.sessions.resolve(token, **options)
        if (stats.fills, stats.hits) != (fills, hits):
            return context
    raise AssertionError(f"never remembered: {stats}")
