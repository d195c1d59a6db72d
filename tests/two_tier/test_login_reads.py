"""What a login reads before its transaction: Redis only when an eviction is possible.

Eviction picks the least recently seen session, and touches live in Redis only, so a user at
the limit has the database learn Redis's ``last_seen_at`` first. A user below the limit evicts
nobody, and the login costs no Redis read (its one round trip is the mirror write).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from platform_sessions.adapters.redis import RedisEndpoint
from platform_sessions.entrypoints.two_tier_storage import TwoTierStorage
from tests.builders import a_session
from tests.two_tier.wiring import two_tier_storage


@pytest.fixture
def storage(tmp_path, policy, clock) -> Iterator[TwoTierStorage]:
    with two_tier_storage(
        RedisEndpoint.in_process(), f"sqlite:///{tmp_path / 'logins.db'}", policy=policy, clock=clock
    ) as built:
        yield built


@pytest.fixture
def redis_list_reads(storage, monkeypatch) -> list[str]:
    reads: list[str] = []
    redis_sessions = storage.redis_sessions()
    original = redis_sessions.list_for_user

    def recorded(user_id, now):
        reads.append(user_id)
        return original(user_id, now)

    monkeypatch.setattr(redis_sessions, "list_for_user", recorded)
    return reads


def test_logins_below_the_limit_read_nothing_from_redis(storage, redis_list_reads, clock, policy):
    repository = storage.user_sessions()
    for _ in range(policy.max_sessions_per_user):
        assert repository.create(a_session(now=clock.now(), policy=policy), max_sessions=3) == []

    assert redis_list_reads == []


def test_a_login_at_the_limit_learns_last_seen_from_redis_and_evicts_the_least_recent(
    storage, redis_list_reads, clock, policy
):
    repository = storage.user_sessions()
    first = a_session(now=clock.now(), policy=policy)
    repository.create(first, max_sessions=2)
    clock.advance(timedelta(seconds=60))
    second = a_session(now=clock.now(), policy=policy)
    repository.create(second, max_sessions=2)
    clock.advance(timedelta(seconds=60))
    storage.redis_sessions().touch(first, clock.now())  # seen later than the second, in Redis only
    clock.advance(timedelta(seconds=60))

    evicted = repository.create(a_session(now=clock.now(), policy=policy), max_sessions=2)

    assert redis_list_reads == ["alice"]
    assert [s.session_id for s in evicted] == [second.session_id]
