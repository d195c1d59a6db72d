"""What makes the mirror safe: tombstones, database-arbitrated versions, the completeness
marker that makes a miss authoritative, refills after Redis lost its data, and the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest
from sqlalchemy import event

from platform_sessions.adapters.redis import RedisEndpoint
from platform_sessions.adapters.redis.session_mirror import EndedSession
from platform_sessions.adapters.two_tier.lag import DatabaseLag
from platform_sessions.domain.routing import issue_token
from platform_sessions.domain.session import SessionChanges
from platform_sessions.entrypoints.two_tier_storage import TwoTierStorage
from tests.builders import ROUTING_KEY, a_session
from tests.two_tier.wiring import two_tier_storage


@pytest.fixture
def storage(tmp_path, policy, clock) -> Iterator[TwoTierStorage]:
    with two_tier_storage(
        RedisEndpoint.in_process(), f"sqlite:///{tmp_path / 'mirror.db'}", policy=policy, clock=clock
    ) as built:
        yield built


def count_queries(storage: TwoTierStorage) -> list[str]:
    statements: list[str] = []
    event.listen(storage.engine(), "before_cursor_execute", lambda *a: statements.append(a[2]))
    return statements


def test_a_tombstone_refuses_every_later_put(storage, clock, policy):
    session = a_session(now=clock.now(), policy=policy)
    mirror = storage.mirror()
    assert mirror.put(session, clock.now()).status == "stored"
    mirror.forget(
        session.user_id, [EndedSession(session.token_digest, session.absolute_expires_at)], clock.now()
    )
    later = attrs.evolve(session, version=session.version + 5)
    assert mirror.put(later, clock.now()).status == "tombstoned"
    assert storage.redis_sessions().get(session.token_digest) is None


def test_a_put_never_goes_back_a_version_and_keeps_the_later_last_seen(storage, clock, policy):
    session = a_session(now=clock.now(), policy=policy)
    mirror = storage.mirror()
    newer = attrs.evolve(session.apply(SessionChanges(active_platform_id="p2")), last_seen_at=clock.now())
    mirror.put(newer, clock.now())
    seen_later = clock.now() + timedelta(minutes=3)
    older = attrs.evolve(session, last_seen_at=seen_later)
    outcome = mirror.put(older, clock.now())
    assert outcome.status == "kept"
    assert outcome.last_seen_at == seen_later
    stored = storage.redis_sessions().get(session.token_digest)
    assert stored is not None
    assert (stored.version, stored.active_platform_id) == (2, "p2")
    assert stored.last_seen_at == seen_later


def test_a_miss_in_a_complete_slot_costs_no_database_query(storage, clock):
    storage.mirror().mark_complete()
    statements = count_queries(storage)
    assert (
        storage.session_contexts().load(issue_token(ROUTING_KEY, "mallory").digest, now=clock.now()) is None
    )
    assert statements == []
    assert storage.metrics().snapshot()["authoritative_misses"] == 1


def test_redis_that_lost_its_data_refills_from_the_database_and_rewarm_marks_it_complete(
    storage, clock, policy
):
    repository = storage.user_sessions()
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=5)
    storage.client().flushall()  # Redis restarted empty
    loaded = storage.session_contexts().load(session.token_digest, now=clock.now())
    assert loaded is not None
    assert loaded.session.session_id == session.session_id
    assert storage.redis_sessions().get(session.token_digest) is not None  # refilled
    storage.client().flushall()
    assert storage.rewarmer().rewarm() == 1
    assert storage.mirror().markers_present()
    assert storage.redis_sessions().get(session.token_digest) is not None


def test_an_ended_session_is_not_refilled_by_a_reader_that_read_the_database_before_the_end(
    storage, clock, policy
):
    repository = storage.user_sessions()
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=5)
    read_before_the_end = repository.get(session.token_digest)
    assert repository.delete(session)
    assert read_before_the_end is not None
    storage.recorder().refresh(read_before_the_end, clock.now())  # the late refill
    assert storage.redis_sessions().get(session.token_digest) is None


def test_work_redis_could_not_take_waits_in_the_outbox_and_the_relay_applies_it(storage, clock, policy):
    repository = storage.user_sessions()
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=5)
    breaker = storage.breaker()
    for _ in range(3):
        breaker.record_failure()  # Redis "down": the breaker is open
    switched = repository.update(session, SessionChanges(active_platform_id="p9"))
    assert repository.delete(switched)
    with storage.database().transaction("look", read_only=True) as tx:
        assert tx.outbox.stats().depth == 2
    assert storage.redis_sessions().get(session.token_digest) is not None  # stale until relayed
    assert storage.relay().drain() == 2
    assert storage.redis_sessions().get(session.token_digest) is None
    with storage.database().transaction("look", read_only=True) as tx:
        assert tx.outbox.stats().depth == 0


def test_database_touches_happen_once_per_database_interval(policy):
    lag = DatabaseLag.of(policy, timedelta(minutes=5))
    from datetime import UTC, datetime

    start = datetime(2026, 1, 1, 12, 4, tzinfo=UTC)
    assert lag.crosses_boundary(start, start + timedelta(minutes=1))
    assert not lag.crosses_boundary(start + timedelta(minutes=1), start + timedelta(minutes=2))
    assert lag.bound == timedelta(minutes=5) + policy.touch_interval


def test_markers_and_the_marked_resolve_work_on_a_cluster(clean_redis_cluster_nodes, tmp_path, policy, clock):
    with two_tier_storage(
        RedisEndpoint.cluster(clean_redis_cluster_nodes),
        f"sqlite:///{tmp_path / 'cluster.db'}",
        policy=policy,
        clock=clock,
    ) as storage:
        session = a_session(now=clock.now(), policy=policy)
        storage.user_sessions().create(session, max_sessions=5)
        assert storage.rewarmer().rewarm() == 1
        assert storage.mirror().markers_present()
        assert storage.session_contexts().load(session.token_digest, now=clock.now()) is not None  # fills
        statements = count_queries(storage)
        assert (
            storage.session_contexts().load(issue_token(ROUTING_KEY, "eve").digest, now=clock.now()) is None
        )
        assert storage.session_contexts().load(session.token_digest, now=clock.now()) is not None
        assert statements == []  # a hit and an authoritative miss: Redis alone
