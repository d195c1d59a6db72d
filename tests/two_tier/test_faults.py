"""Fault tests against real servers: a private redis-server and the PostgreSQL, a mixed load on
several threads, and Redis killed, frozen, or losing writes after the database committed.

Each asserts: no valid session rejected, no ended session back after recovery, Redis and the
database agreeing on every live session (version and active platform) within a bound, the
breaker opened and closed, the outbox drained to zero. Numbers go to the test's output (-s).
"""

from __future__ import annotations

from tests.two_tier.faults import DepthSampler, FailingMirror, Recovery, check_recovery, fault_rig, run_for
from tests.two_tier.load import MixedLoad

# Agreement must come within a few relay intervals once Redis is back (a rewarm included).
AGREE_WITHIN_S = 10.0
DRAINED_WITHIN_S = 5.0


def assert_recovered(recovery: Recovery) -> None:
    summary = recovery.summary()
    print(summary)
    assert recovery.stats.rejections == 0, (summary, recovery.stats.failures[:5])
    assert recovery.stats.unavailable == 0, (summary, recovery.stats.failures[:5])
    assert recovery.still_resolving == [], summary
    assert recovery.left_in_redis == [], summary
    assert recovery.seconds_to_agree is not None, (summary, recovery.disagreements[:5])
    assert recovery.breaker_opened >= 1, summary
    assert recovery.breaker_closed >= 1, summary
    assert recovery.final_outbox_depth == 0, summary
    # Drained within a few relay intervals plus the breaker's open period while the load runs
    # (the bound leaves room for a busy 2-core machine).
    assert recovery.drained_after_recovery_s is not None, summary
    assert recovery.drained_after_recovery_s < DRAINED_WITHIN_S, summary
    assert recovery.stats.requests > 100, summary


def test_redis_killed_mid_load_and_restarted_empty(redis_server_factory, postgres_url):
    server = redis_server_factory()
    with fault_rig(server.url, postgres_url) as rig:
        load = MixedLoad(rig.sessions)
        sampler = DepthSampler(rig)
        load.start()
        run_for(1.0)
        server.kill()
        run_for(2.0)
        server.restart()
        sampler.mark_recovery()
        run_for(2.0)
        stats = load.stop()
        recovery = check_recovery(rig, load, stats, sampler, agree_within_s=AGREE_WITHIN_S)
    assert_recovered(recovery)
    assert recovery.stats.resurrections == 0, recovery.summary()


def test_redis_frozen_so_calls_time_out_then_resumed(redis_server_factory, postgres_url):
    server = redis_server_factory()
    with fault_rig(server.url, postgres_url) as rig:
        load = MixedLoad(rig.sessions, seed=11)
        sampler = DepthSampler(rig)
        load.start()
        run_for(1.0)
        server.freeze()
        try:
            run_for(2.0)
        finally:
            server.thaw()
        sampler.mark_recovery()
        run_for(2.0)
        stats = load.stop()
        recovery = check_recovery(rig, load, stats, sampler, agree_within_s=AGREE_WITHIN_S)
    assert_recovered(recovery)
    assert recovery.stats.resurrections == 0, recovery.summary()


def test_redis_writes_lost_after_the_database_committed(redis_server_factory, postgres_url):
    server = redis_server_factory()
    # A failed mirror write counts on the breaker; with resolves succeeding in between, only a
    # threshold of one makes write failures alone open it, which is what this test exercises.
    with fault_rig(server.url, postgres_url, failure_threshold=1, failing_mirror=True) as rig:
        load = MixedLoad(rig.sessions, seed=13)
        sampler = DepthSampler(rig)
        load.start()
        run_for(1.0)
        FailingMirror.failing = True
        run_for(2.0)
        FailingMirror.failing = False
        sampler.mark_recovery()
        run_for(2.0)
        stats = load.stop()
        recovery = check_recovery(rig, load, stats, sampler, agree_within_s=AGREE_WITHIN_S)
    assert_recovered(recovery)
    # A process that still reaches Redis may read an ended session until the relay runs (the
    # documented window); after recovery none may resolve (asserted above).
