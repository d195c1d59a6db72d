"""Section 1: every operation, interleaved with the baseline, on one storage."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from attrs import define

from benchmarks.anatomy import Anatomy, measure_anatomy
from benchmarks.baseline import Baseline, stored_session_size
from benchmarks.operations import Rig, connect_two_platforms, session_rows
from benchmarks.private_redis import private_redis
from benchmarks.session_loader import IP_ADDRESS, USER_AGENT
from benchmarks.storages import Servers, StorageKind, open_facade
from benchmarks.timing import Measured, interleaved
from platform_sessions.adapters.memory import ManualClock
from platform_sessions.domain.errors import PlatformSessionsError
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.facade import PlatformSessions

# A killed Redis is noticed after a few failed calls (the two-tier storage's circuit breaker);
# these untimed attempts get past that before the row is timed.
OUTAGE_SETTLE_ATTEMPTS = 20
EVENT_DRAIN_TIMEOUT_S = 5.0


@define
class OperationTable:
    kind: StorageKind
    baseline: Measured
    rows: list[Measured]
    value_size: int
    rounds: int
    anatomy: Anatomy | None = None  # Redis-fronted storages only


def measure_operations(kind: StorageKind, servers: Servers, *, rounds: int, warmup: int) -> OperationTable:
    """Build the rows' facades, time them round-robin with the baseline, release everything."""
    with ExitStack() as stack:
        clock = ManualClock()
        touch_clock = ManualClock()
        main = _opened(stack, open_facade(kind, servers, clock=clock))
        touching = _opened(stack, open_facade(kind, servers, clock=touch_clock))
        rig = Rig(main=main, touching=touching, touch_clock=touch_clock, run_id=secrets.token_hex(3))
        if kind.uses_redis:
            rig.uncached = _opened(stack, open_facade(kind, servers, clock=clock, near_cache=False))
        if kind is StorageKind.TWO_TIER:
            stack.enter_context(_outage(rig, servers))
        rows = session_rows(rig)
        baseline = Baseline(servers.redis_url, servers.key_prefix, _session_size(main, servers))
        stack.callback(baseline.close)
        facades = [f for f in (main, touching, rig.uncached, rig.outage) if f is not None]
        measured = interleaved(
            [baseline.operation(), *rows], rounds=rounds, warmup=warmup, settle=lambda: _drain_events(facades)
        )
        value_size = baseline.value_size
    # After the rows' facades are closed: their relay threads must not share the interpreter
    # with calls timed back to back.
    anatomy = measure_anatomy(kind, servers, value_size) if kind.uses_redis else None
    return OperationTable(kind, measured[0], measured[1:], value_size, rounds, anatomy)


def _drain_events(facades: list[PlatformSessions]) -> None:
    """Wait until the facades' background publishers have sent what the last run queued."""
    for facade in facades:
        flush = getattr(facade.events, "flush", None)  # BackgroundEventPublisher; others send at once
        if flush is not None:
            flush(EVENT_DRAIN_TIMEOUT_S)


def _opened(stack: ExitStack, facade: PlatformSessions) -> PlatformSessions:
    stack.callback(facade.close)
    return facade


def _session_size(main: PlatformSessions, servers: Servers) -> int:
    user = "bench-size-probe"
    session = main.start_session(user, user_agent=USER_AGENT, ip_address=IP_ADDRESS).context.session
    main.end_session(session)
    return stored_session_size(session, RoutingKey.from_text(servers.routing_key).user_label(user))


@contextmanager
def _outage(rig: Rig, servers: Servers) -> Iterator[None]:
    """A two-tier facade whose private Redis is killed after a session was started on it."""
    with private_redis() as server:
        facade = open_facade(StorageKind.TWO_TIER, servers.with_redis(server.url), clock=ManualClock())
        try:
            user = f"bench-{rig.run_id}-stranded"
            connect_two_platforms(facade, user)
            token = str(facade.start_session(user).token)
            facade.resolve(token)
            server.kill()
            error = _settle_after_outage(facade, token)
            if error is None:
                rig.outage, rig.outage_token = facade, token
            else:
                rig.outage_unavailable = f"resolve fails while Redis is down: {error}"
            yield
        finally:
            facade.close()


def _settle_after_outage(facade: PlatformSessions, token: str) -> str | None:
    last_error = ""
    for _ in range(OUTAGE_SETTLE_ATTEMPTS):
        try:
            facade.resolve(token)
        except PlatformSessionsError as error:
            last_error = f"{type(error).__name__}: {error}"
            continue
        return None
    return last_error
