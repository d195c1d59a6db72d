"""Fault-test plumbing: a real Redis and PostgreSQL behind the production container, a mirror
that fails on demand, and the recovery checks every scenario ends with."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from attrs import define
from dependency_injector import providers
from redis.exceptions import ConnectionError as RedisConnectionError

from platform_sessions.adapters.redis import RedisEndpoint, RedisOptions, RedisUserSessionRepository
from platform_sessions.adapters.redis.session_mirror import EndedSession, PutOutcome, RedisSessionMirror
from platform_sessions.adapters.two_tier import BreakerSettings, TwoTierSettings
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.session import UserSession
from platform_sessions.domain.session_data import SessionDataChanges
from platform_sessions.domain.token import SessionToken
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.two_tier_storage import TwoTierStorage
from tests.two_tier.load import LoadStats, MixedLoad, wait_until
from tests.two_tier.wiring import two_tier_sessions

RELAY_INTERVAL_S = 0.2
FAST_OPTIONS = RedisOptions(connect_timeout=0.1, read_timeout=0.2, publish_in_background=True)


class FailingMirror(RedisSessionMirror):
    """The real mirror, except that while ``failing`` a share of its writes raise as a lost
    connection would: the database has committed, Redis never hears of it."""

    failing = False
    share = 0.5
    _random = random.Random(3)

    def _maybe_fail(self) -> None:
        if FailingMirror.failing and FailingMirror._random.random() < FailingMirror.share:
            raise StoreUnavailable("injected: Redis write lost") from RedisConnectionError("injected")

    def put(self, session: UserSession, now: datetime) -> PutOutcome:
        self._maybe_fail()
        return super().put(session, now)

    def forget(self, user_id: UserId, ended: list[EndedSession], now: datetime) -> None:  # type: ignore[override]
        self._maybe_fail()
        super().forget(user_id, ended, now)

    def rotate(self, old: EndedSession, session: UserSession, now: datetime) -> PutOutcome:
        self._maybe_fail()
        return super().rotate(old, session, now)

    def put_data(self, session: UserSession, changes: SessionDataChanges, now: datetime) -> PutOutcome:
        self._maybe_fail()
        return super().put_data(session, changes, now)


def _failing_mirror(storage: TwoTierStorage) -> None:
    storage.mirror.override(
        providers.Singleton(FailingMirror, client=storage.client, keys=storage.keys, policy=storage.policy)
    )


@define
class Rig:
    """The facade under test and the pieces the checks look through."""

    sessions: PlatformSessions
    storage: TwoTierStorage


@contextmanager
def fault_rig(
    redis_url: str, database_url: str, *, failure_threshold: int = 3, failing_mirror: bool = False
) -> Iterator[Rig]:
    """The production wiring on ``redis_url`` and ``database_url`` with fast timeouts, a
    quick breaker and relay, and (if asked) the failing mirror."""
    policy = SessionPolicy(max_sessions_per_user=50)
    settings = TwoTierSettings(
        breaker=BreakerSettings(failure_threshold=failure_threshold, open_seconds=0.5),
        relay_interval_s=RELAY_INTERVAL_S,
    )
    with two_tier_sessions(
        RedisEndpoint.server(redis_url),
        database_url,
        policy=policy,
        settings=settings,
        options=FAST_OPTIONS,
        customize=_failing_mirror if failing_mirror else None,
    ) as (sessions, storage):
        FailingMirror.failing = False
        yield Rig(sessions, storage)
        FailingMirror.failing = False


def owed_outbox_depth(storage: TwoTierStorage) -> int:
    """The outbox rows whose Redis work is still owed, as ``health()`` counts them: rows already
    applied only wait to be deleted by the next write, so they are deleted first."""
    database = storage.database()
    database.flush_pending_clears()
    with database.transaction("count owed outbox rows", read_only=True) as tx:
        return tx.outbox.stats().depth


class DepthSampler:
    """Samples the outbox depth every 50 ms in a thread (bounded by :meth:`stop`)."""

    def __init__(self, rig: Rig) -> None:
        self._rig = rig
        self.max_depth = 0
        self.samples: list[tuple[float, int]] = []
        self.recovered_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                depth = owed_outbox_depth(self._rig.storage)
                self.max_depth = max(self.max_depth, depth)
                self.samples.append((time.monotonic(), depth))
            except StoreUnavailable:
                pass

    def mark_recovery(self) -> None:
        """Note the moment Redis is back (restarted, thawed, writes no longer failing)."""
        self.recovered_at = time.monotonic()

    def drained_after_recovery_s(self) -> float | None:
        """Seconds from :meth:`mark_recovery` to the first sample of an empty outbox."""
        if self.recovered_at is None:
            return None
        for moment, depth in self.samples:
            if moment >= self.recovered_at and depth == 0:
                return moment - self.recovered_at
        return None

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(5)
        return self.max_depth


@define
class Recovery:
    """What the checks after a fault found."""

    stats: LoadStats
    breaker_opened: int
    breaker_closed: int
    max_outbox_depth: int
    seconds_to_agree: float | None
    disagreements: list[str]
    still_resolving: list[str]
    left_in_redis: list[str]
    final_outbox_depth: int
    drained_after_recovery_s: float | None = None

    def summary(self) -> str:
        return (
            f"requests={self.stats.requests} resolves={self.stats.resolves} "
            f"rejections={self.stats.rejections} unavailable={self.stats.unavailable} "
            f"resurrections(after recovery)={len(self.still_resolving) + len(self.left_in_redis)} "
            f"stale reads during the fault={self.stats.resurrections} "
            f"breaker opened={self.breaker_opened} closed={self.breaker_closed} "
            f"max outbox depth={self.max_outbox_depth} "
            f"outbox empty {self.drained_after_recovery_s}s after recovery "
            f"agreed {self.seconds_to_agree}s after the load stopped"
        )


def check_recovery(
    rig: Rig, load: MixedLoad, stats: LoadStats, sampler: DepthSampler, *, agree_within_s: float
) -> Recovery:
    """Wait for Redis and the database to agree, then look for resurrections."""
    storage = rig.storage
    redis_sessions: RedisUserSessionRepository = storage.redis_sessions()
    database = storage.database()
    live = load.live_tokens
    dead = load.dead_tokens

    def disagreements() -> list[str]:
        found: list[str] = []
        depth = owed_outbox_depth(storage)
        with database.transaction("check", read_only=True) as tx:
            stored = {t: tx.user_sessions.get(SessionToken.parse(t).digest) for t in live}
        if depth:
            found.append(f"outbox depth {depth}")
        for token, in_database in stored.items():
            try:
                in_redis = redis_sessions.get(SessionToken.parse(token).digest)
            except StoreUnavailable as error:
                found.append(f"redis: {error}")
                break
            if in_database is None:
                found.append("a live token has no database row")
            elif in_redis is None:
                found.append("a live session is missing from Redis")
            elif (in_redis.version, in_redis.active_platform_id) != (
                in_database.version,
                in_database.active_platform_id,
            ):
                found.append(
                    f"versions differ: redis {in_redis.version}/{in_redis.active_platform_id} "
                    f"database {in_database.version}/{in_database.active_platform_id}"
                )
        return found

    seconds = wait_until(lambda: not disagreements(), agree_within_s)
    still_resolving: list[str] = []
    left_in_redis: list[str] = []
    for token in dead:
        digest = SessionToken.parse(token).digest
        try:
            rig.sessions.resolve(token)
            still_resolving.append(token[:12])
        except Exception:
            pass
        if redis_sessions.get(digest) is not None:
            left_in_redis.append(token[:12])
    final_depth = owed_outbox_depth(storage)
    counters = storage.metrics().snapshot()
    return Recovery(
        stats=stats,
        breaker_opened=counters["breaker_opened"],
        breaker_closed=counters["breaker_closed"],
        max_outbox_depth=sampler.stop(),
        drained_after_recovery_s=sampler.drained_after_recovery_s(),
        seconds_to_agree=seconds,
        disagreements=disagreements(),
        still_resolving=still_resolving,
        left_in_redis=left_in_redis,
        final_outbox_depth=final_depth,
    )


def run_for(seconds: float) -> None:
    """Let the load run (a bounded sleep)."""
    time.sleep(seconds)
