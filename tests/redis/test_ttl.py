"""TTLs follow the session's deadlines: the smaller of the idle and absolute remaining times.

TTLs are computed from the times the repository is given (the session's timestamps, the
touch's moment), not from Redis TIME; the tests' clock runs near real time, so a TTL read
back is the computed one give or take the test's own duration.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from platform_sessions.adapters.memory import InMemoryPlatformDirectory, InMemoryPlatformStore
from platform_sessions.adapters.redis import (
    RedisKeys,
    RedisPlatformCache,
    RedisPlatformDirectory,
    RedisSessionContextQuery,
    RedisUserSessionRepository,
)
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.routing import issue_token
from platform_sessions.domain.session import SessionChanges, new_csrf_token
from tests.builders import ROUTING_KEY, a_session

SLACK = timedelta(seconds=5)


def _ttl(client, key: str) -> timedelta:  # type: ignore[no-untyped-def]
    return timedelta(milliseconds=client.pttl(key))


def _about(actual: timedelta, expected: timedelta) -> bool:
    return expected - SLACK <= actual <= expected + SLACK


def test_a_new_session_lives_for_the_idle_timeout_and_its_index_for_the_absolute_lifetime(
    world, clock, policy
):
    session = a_session(now=clock.now(), policy=policy)
    world.repository.create(session, max_sessions=3)
    assert _about(_ttl(world.client, world.keys.session(session.token_digest)), policy.idle_timeout)
    assert _about(_ttl(world.client, world.keys.index_for("alice")), policy.absolute_lifetime)


def test_a_touch_moves_the_ttl_with_last_seen(world, clock, policy):
    session = a_session(now=clock.now(), policy=policy)
    world.repository.create(session, max_sessions=3)
    key = world.keys.session(session.token_digest)
    world.client.pexpire(key, 60_000)  # as if most of the idle time had passed
    world.repository.touch(session, clock.now())
    assert _about(_ttl(world.client, key), timedelta(minutes=1))  # same moment: nothing moved
    world.repository.touch(session, clock.advance(timedelta(seconds=1)))
    assert _about(_ttl(world.client, key), policy.idle_timeout)


def test_resolving_with_a_touch_due_refreshes_the_ttl(world, clock, policy):
    session = a_session(now=clock.now(), policy=policy)
    world.repository.create(session, max_sessions=3)
    key = world.keys.session(session.token_digest)
    world.client.pexpire(key, 60_000)
    world.query.load(session.token_digest, now=clock.advance(policy.touch_interval - timedelta(seconds=1)))
    assert _about(_ttl(world.client, key), timedelta(minutes=1))  # no touch due: no write
    world.query.load(session.token_digest, now=clock.advance(timedelta(seconds=1)))
    assert _about(_ttl(world.client, key), policy.idle_timeout)


def test_updates_and_rotations_keep_the_ttl(world, clock, policy):
    session = a_session(now=clock.now(), policy=policy)
    world.repository.create(session, max_sessions=3)
    world.client.pexpire(world.keys.session(session.token_digest), 600_000)
    updated = world.repository.update(session, SessionChanges(active_platform_id="p2"))
    assert _about(_ttl(world.client, world.keys.session(session.token_digest)), timedelta(minutes=10))
    new_digest = issue_token(ROUTING_KEY, "alice").digest
    world.repository.rotate(updated, new_digest, new_csrf_token())
    assert _about(_ttl(world.client, world.keys.session(new_digest)), timedelta(minutes=10))


@pytest.fixture
def short_lived() -> SessionPolicy:
    return SessionPolicy(idle_timeout=timedelta(hours=2), absolute_lifetime=timedelta(hours=3))


def test_near_the_absolute_deadline_the_ttl_is_what_is_left_of_it(redis_client, clock, short_lived):
    keys = RedisKeys(ROUTING_KEY)
    repository = RedisUserSessionRepository(redis_client, keys, short_lived)
    session = a_session(now=clock.now(), policy=short_lived)
    repository.create(session, max_sessions=3)
    key = keys.session(session.token_digest)
    # Seen 90 minutes later: idle would allow 2 h more, the absolute deadline only 1.5 h.
    repository.touch(session, session.created_at + timedelta(minutes=90))
    assert _about(_ttl(redis_client, key), timedelta(minutes=90) - (clock.now() - session.created_at))


def test_a_touch_past_the_absolute_deadline_neither_extends_nor_deletes(redis_client, clock, short_lived):
    keys = RedisKeys(ROUTING_KEY)
    repository = RedisUserSessionRepository(redis_client, keys, short_lived)
    session = a_session(now=clock.now(), policy=short_lived)
    repository.create(session, max_sessions=3)
    key = keys.session(session.token_digest)
    before = _ttl(redis_client, key)
    assert repository.touch(session, session.absolute_expires_at + timedelta(minutes=1)) is not None
    assert redis_client.exists(key) == 1
    assert _ttl(redis_client, key) <= before


def test_an_expired_session_is_not_touched_by_resolving(redis_client, clock, policy):
    keys = RedisKeys(ROUTING_KEY)
    repository = RedisUserSessionRepository(redis_client, keys, policy)
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=3)
    key = keys.session(session.token_digest)
    before = _ttl(redis_client, key)
    cache = RedisPlatformCache(redis_client, keys, ttl=timedelta(minutes=5))
    directory = RedisPlatformDirectory(cache, InMemoryPlatformDirectory(InMemoryPlatformStore()))
    query = RedisSessionContextQuery(redis_client, keys, policy, cache, directory)
    snapshot = query.load(session.token_digest, now=clock.advance(policy.idle_timeout))
    assert snapshot is not None
    assert snapshot.session.last_seen_at == session.last_seen_at
    assert _ttl(redis_client, key) <= before
