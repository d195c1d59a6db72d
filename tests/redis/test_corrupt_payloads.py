"""A payload that cannot be decoded is no session (logged, never the token), never an error.

"Cannot be decoded": another schema version (a newer deployment during a rolling upgrade),
garbage written by someone else, a missing field, bytes that are not UTF-8, a value of another
Redis type. The adapter answers as if there were no session, and raises only domain errors.
"""

from __future__ import annotations

import logging

import pytest

from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.domain.routing import issue_token
from platform_sessions.domain.session import SessionChanges, new_csrf_token
from tests.builders import ROUTING_KEY, a_platform, a_session
from tests.contracts.platform_directory import save

CORRUPTIONS = {
    "newer schema": lambda client, key: client.hset(key, "schema", "2"),
    "missing field": lambda client, key: client.hdel(key, "user_id"),
    "not a number": lambda client, key: client.hset(key, "last_seen_at_us", "yesterday"),
    "not UTF-8": lambda client, key: client.hset(key, "user_agent", b"\xff\xfe\xfd"),
    "attributes not JSON": lambda client, key: client.hset(key, "attributes", "{oops"),
    "attributes not an object": lambda client, key: client.hset(key, "attributes", "[1, 2]"),
    "another type": lambda client, key: (client.delete(key), client.set(key, "garbage")),
    "data value not JSON": lambda client, key: client.hset(key, "d:cart", "{oops"),
    "data size not a number": lambda client, key: client.hset(key, "data_bytes", "lots"),
}


@pytest.fixture
def stored(world, clock, policy):  # type: ignore[no-untyped-def]
    """A stored session and the token behind it (kept, to check that no log line shows it)."""
    token = issue_token(ROUTING_KEY, "alice")
    session = a_session(now=clock.now(), policy=policy, token_digest=token.digest)
    world.repository.create(session, max_sessions=10)
    return session, token


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=list(CORRUPTIONS))
def test_an_undecodable_session_is_not_found_and_logged_without_the_token(
    world, stored, corruption, clock, caplog
):
    session, token = stored
    CORRUPTIONS[corruption](world.client, world.keys.session(session.token_digest))
    caplog.set_level(logging.WARNING)

    assert world.repository.get(session.token_digest) is None
    assert world.repository.get_many([session.token_digest]) == [None]
    assert world.query.load(session.token_digest, now=clock.now()) is None
    assert world.repository.touch(session, clock.now()) is None
    with pytest.raises(SessionNotFound):
        world.repository.update(session, SessionChanges(active_platform_id="p2"))
    with pytest.raises(SessionNotFound):
        world.repository.rotate(session, issue_token(ROUTING_KEY, "alice").digest, new_csrf_token())
    assert world.repository.list_for_user("alice", clock.now()) == []

    assert caplog.records, "an undecodable payload is logged"
    for record in caplog.records:
        message = record.getMessage()
        assert token.value not in message
        assert token.value.split(".")[1] not in message
        assert session.token_digest.hex not in message


def test_a_newer_schema_session_survives_the_limit_and_logging_out_everywhere_ends_it(
    world, stored, clock, policy
):
    session, _ = stored
    key = world.keys.session(session.token_digest)
    world.client.hset(key, "schema", "2")
    for _ in range(3):  # past the limit of 2: the unreadable session is neither counted nor evicted
        world.repository.create(a_session(now=clock.now(), policy=policy), max_sessions=2)
    assert world.client.exists(key) == 1
    ended = world.repository.delete_all_for_user("alice")
    assert len(ended) == 2  # the readable ones are returned; the other is ended all the same
    assert world.client.exists(key) == 0


def test_a_garbage_index_is_replaced_rather_than_failing_every_login(world, clock, policy):
    world.client.set(world.keys.index_for("alice"), "garbage")
    session = a_session(now=clock.now(), policy=policy)
    assert world.repository.create(session, max_sessions=10) == []
    assert [s.session_id for s in world.repository.list_for_user("alice", clock.now())] == [
        session.session_id
    ]


def test_an_undecodable_cached_platform_is_a_miss_refilled_from_the_backing_directory(
    world, stored, clock, caplog
):
    session, _ = stored
    platform = a_platform(is_default=True)
    save(world.uow_factory, platform)
    assert world.directory.default_for("alice") == platform  # cached
    cache_key = world.keys.platform_cache(session.token_digest.routing_tag)
    field = f"{world.keys.label_for('alice')}:p:{platform.id}"
    caplog.set_level(logging.WARNING)
    world.client.hset(cache_key, field, '{"schema": 1, "id": 42}')
    snapshot = world.query.load(session.token_digest, now=clock.now())
    assert snapshot is not None
    assert snapshot.default_platform == platform
    assert any("cache miss" in record.getMessage() for record in caplog.records)
    assert world.directory.get("alice", platform.id) == platform  # refilled


def test_garbage_at_the_platform_cache_key_is_replaced(world, stored, clock):
    session, _ = stored
    platform = a_platform(is_default=True)
    save(world.uow_factory, platform)
    cache_key = world.keys.platform_cache(session.token_digest.routing_tag)
    world.client.set(cache_key, "garbage")
    snapshot = world.query.load(session.token_digest, now=clock.now())
    assert snapshot is not None
    assert snapshot.default_platform == platform
    assert world.client.type(cache_key) in (b"hash", "hash")
    world.directory.invalidate("alice")  # on a hash again: no WRONGTYPE


def test_an_index_member_that_is_not_a_digest_is_pruned_not_raised(world, stored, clock):
    session, _ = stored
    index_key = world.keys.index_for("alice")
    world.client.zadd(index_key, {"not-a-digest": session.absolute_expires_at.timestamp() * 1e6})
    assert [s.session_id for s in world.repository.list_for_user("alice", clock.now())] == [
        session.session_id
    ]
    assert world.client.zscore(index_key, "not-a-digest") is None
    assert [s.session_id for s in world.repository.delete_all_for_user("alice")] == [session.session_id]
