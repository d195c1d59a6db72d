"""The half-open probe drains the outbox before Redis is trusted again; relays share the work."""

from __future__ import annotations

import threading
import time

from platform_sessions.adapters.redis import RedisEndpoint
from platform_sessions.adapters.two_tier import BreakerSettings, BreakerState, TwoTierSettings
from platform_sessions.domain.session import SessionChanges
from platform_sessions.entrypoints import bootstrap
from tests.builders import a_session
from tests.two_tier.wiring import two_tier_storage

OPEN_LONG = TwoTierSettings(
    breaker=BreakerSettings(failure_threshold=1, open_seconds=60), run_relay=False, auto_rewarm=False
)
OPEN_BRIEFLY = TwoTierSettings(
    breaker=BreakerSettings(failure_threshold=1, open_seconds=0.05), run_relay=False, auto_rewarm=False
)


def test_the_probe_drains_the_outbox_before_the_breaker_closes(tmp_path, policy, clock):
    with two_tier_storage(
        RedisEndpoint.in_process(),
        f"sqlite:///{tmp_path / 'probe.db'}",
        policy=policy,
        clock=clock,
        settings=OPEN_BRIEFLY,
    ) as storage:
        repository = storage.user_sessions()
        ended = a_session(user_id="alice", now=clock.now(), policy=policy)
        switched = a_session(user_id="bob", now=clock.now(), policy=policy)
        repository.create(ended, max_sessions=5)
        repository.create(switched, max_sessions=5)
        storage.breaker().record_failure()  # Redis "away": the breaker opens
        assert repository.delete(ended)
        repository.update(switched, SessionChanges(active_platform_id="p2"))
        stale = storage.redis_sessions().get(ended.token_digest)
        assert stale is not None  # Redis never heard of the end
        time.sleep(0.06)
        # The next request is the probe: it drains first, so it cannot read the ended session.
        assert storage.session_contexts().load(ended.token_digest, now=clock.now()) is None
        assert storage.breaker().state is BreakerState.CLOSED
        mirrored = storage.redis_sessions().get(switched.token_digest)
        assert mirrored is not None
        assert mirrored.active_platform_id == "p2"
        with storage.database().transaction("look", read_only=True) as tx:
            assert tx.outbox.stats().depth == 0


def test_two_relays_drain_one_outbox_together_without_leftovers(postgres_url, clean_redis_url, policy, clock):
    with two_tier_storage(
        RedisEndpoint.server(clean_redis_url), postgres_url, policy=policy, clock=clock, settings=OPEN_LONG
    ) as storage:
        repository = storage.user_sessions()
        storage.breaker().record_failure()  # every change leaves its row behind
        sessions = [a_session(user_id=f"user{n}", now=clock.now(), policy=policy) for n in range(60)]
        for session in sessions:
            repository.create(session, max_sessions=5)
        relayed: list[int] = []
        threads = [threading.Thread(target=lambda: relayed.append(storage.relay().drain())) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sum(relayed) >= 60
        with storage.database().transaction("look", read_only=True) as tx:
            assert tx.outbox.stats().depth == 0
        assert all(storage.redis_sessions().get(s.token_digest) is not None for s in sessions)


def test_every_storage_answers_health():
    with bootstrap(storage="memory") as sessions:
        health = sessions.health()
    assert health.storage == "memory"
    assert health.healthy
