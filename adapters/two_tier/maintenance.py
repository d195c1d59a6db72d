"""What every process does in the background: clear the outbox rows its writers applied,
relay the rest, and rewarm a Redis that lost its completeness markers (restarted empty, failed
over to an empty replica, flushed)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from platform_sessions.adapters.redis.errors import is_redis_failure
from platform_sessions.adapters.redis.session_mirror import RedisSessionMirror
from platform_sessions.adapters.two_tier.database import SessionDatabase
from platform_sessions.adapters.two_tier.outbox_relay import OutboxBacklog, OutboxRelay
from platform_sessions.adapters.two_tier.redis_guard import RedisGuard, RedisSkipped
from platform_sessions.adapters.two_tier.rewarm import RewarmBusy, Rewarmer
from platform_sessions.domain.errors import StoreUnavailable

logger = logging.getLogger(__name__)


class Maintenance:
    """One tick: delete the rows this process's writers applied (database only, whatever the
    breaker says, so an idle process clears them within one interval); then, through the guard
    (so an open breaker is probed, and the probe drains first), drain the outbox, check the
    markers and rewarm if they are gone."""

    def __init__(
        self,
        database: SessionDatabase,
        relay: OutboxRelay,
        rewarmer: Rewarmer,
        mirror: RedisSessionMirror,
        guard: RedisGuard,
        *,
        auto_rewarm: bool,
    ) -> None:
        self._database = database
        self._relay = relay
        self._rewarmer = rewarmer
        self._mirror = mirror
        self._guard = guard
        self._auto_rewarm = auto_rewarm

    def tick(self) -> None:
        """Run once; failures are logged, never raised (the next tick tries again)."""
        started = time.monotonic()
        try:
            self._database.flush_pending_clears()
        except StoreUnavailable as error:
            logger.warning("outbox relay: could not clear applied rows: %s", error)
        try:
            self._guard.call("relaying the outbox", self._relay.drain)
            # Every row committed before ``started`` is applied: reads may trust Redis again.
            self._guard.renew_lease(started)
            if self._auto_rewarm and not self._guard.call("checking markers", self._mirror.markers_present):
                self._guard.call("rewarming Redis", self._rewarmer.rewarm)
        except (RedisSkipped, RewarmBusy):
            pass
        except StoreUnavailable as error:
            logger.warning("outbox relay: the database failed: %s", error)
            if not is_redis_failure(error) and not isinstance(error, OutboxBacklog):
                # The database is away: no change can commit through it now, so none can be
                # acknowledged behind Redis's back, and Redis keeps serving reads (a database
                # outage must not become a Redis outage). Not covered: a writer that still
                # reaches the database while its Redis write fails at the same moment.
                self._guard.renew_lease(started)


class RelayThread:
    """A daemon thread calling ``tick`` every ``interval_s`` until :meth:`stop`."""

    def __init__(self, tick: Callable[[], None], interval_s: float) -> None:
        self._tick = tick
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="platform-sessions-relay", daemon=True)

    def start(self) -> None:
        """Start ticking (the first tick runs at once)."""
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the thread to stop and wait for it (bounded)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._tick()
            except Exception:
                logger.exception("the outbox relay tick failed")
            self._stopping.wait(self._interval_s)
