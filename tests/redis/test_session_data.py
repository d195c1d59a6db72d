"""Session data in Redis: one hash field per key, written alone, one script per write; anonymous
sessions in no index. (The port's semantics are the contract suite's; this is the layout and
the cost.)"""

from __future__ import annotations

import pytest

from platform_sessions.adapters.redis.epoch import duration_micros
from platform_sessions.domain.errors import SessionDataTooLarge
from platform_sessions.domain.session_data import SessionDataChanges, data_size
from tests.builders import a_session, an_anonymous_session

MAX_BYTES = 64 * 1024


def test_each_data_key_is_its_own_field_of_canonical_json(redis_client, repository, keys, clock, policy):
    session = a_session(now=clock.now(), policy=policy, data={"cart": {"b": 1, "a": [True]}, "n": 2})
    repository.create(session, max_sessions=10)

    stored = redis_client.hgetall(keys.session(session.token_digest))

    assert stored[b"d:cart"] == b'{"a":[true],"b":1}'
    assert stored[b"d:n"] == b"2"
    assert b"user_id" in stored  # the session's own fields have no colon: never a data key's


def test_a_data_write_sets_and_deletes_only_the_keys_it_names(redis_client, repository, keys, clock, policy):
    session = a_session(now=clock.now(), policy=policy, data={"a": 1, "b": 2})
    repository.create(session, max_sessions=10)
    key = keys.session(session.token_digest)
    # A field no write knows about: a write that rewrote the hash would lose it.
    redis_client.hset(key, "written_by_someone_else", "still here")

    stored = repository.write_data(
        session, SessionDataChanges(set={"c": [3]}, delete=frozenset({"a"})), max_bytes=MAX_BYTES
    )

    fields = redis_client.hgetall(key)
    assert fields[b"written_by_someone_else"] == b"still here"
    assert (fields[b"d:b"], fields[b"d:c"], b"d:a" in fields) == (b"2", b"[3]", False)
    assert fields[b"version"] == b"2"
    assert stored.data == {"b": 2, "c": [3]}


def test_the_running_size_is_the_encoded_data_maps(redis_client, repository, keys, clock, policy):
    session = a_session(now=clock.now(), policy=policy, data={"ключ": "значение"})
    repository.create(session, max_sessions=10)
    key = keys.session(session.token_digest)
    steps = [
        SessionDataChanges(set={"a": {"x": [1, 2.5, None]}, "b": "é"}),
        SessionDataChanges(set={"a": "shorter"}, delete=frozenset({"ключ"})),
        SessionDataChanges(delete=frozenset({"a", "b", "never there"})),
    ]
    for changes in steps:
        stored = repository.write_data(session, changes, max_bytes=MAX_BYTES)
        assert int(redis_client.hget(key, "data_bytes") or 0) == data_size(stored.data)


def test_a_write_over_the_limit_writes_nothing(redis_client, repository, keys, clock, policy):
    session = a_session(now=clock.now(), policy=policy, data={"a": "x" * 10})
    repository.create(session, max_sessions=10)
    key = keys.session(session.token_digest)
    before = redis_client.hgetall(key)
    limit = data_size({"a": "x" * 10, "b": "y"})

    with pytest.raises(SessionDataTooLarge):
        repository.write_data(session, SessionDataChanges(set={"b": "yy"}), max_bytes=limit)

    assert redis_client.hgetall(key) == before
    assert repository.write_data(session, SessionDataChanges(set={"b": "y"}), max_bytes=limit).version == 2


def test_a_data_value_that_is_not_json_makes_the_session_unreadable(
    redis_client, repository, keys, clock, policy
):
    session = a_session(now=clock.now(), policy=policy, data={"a": 1})
    repository.create(session, max_sessions=10)
    redis_client.hset(keys.session(session.token_digest), "d:a", "{oops")

    assert repository.get(session.token_digest) is None  # logged, never a crash


def test_an_anonymous_session_is_in_no_index_and_names_no_user(redis_client, repository, keys, clock, policy):
    session = an_anonymous_session(now=clock.now(), policy=policy, data={"theme": "dark"})
    repository.create(session, max_sessions=1)

    key = keys.session(session.token_digest)
    assert list(redis_client.scan_iter()) == [key.encode()]
    stored = redis_client.hgetall(key)
    assert b"user_id" not in stored
    assert b"user_label" not in stored
    assert 0 < redis_client.pttl(key) <= duration_micros(policy.anonymous_idle_timeout) // 1000
    found = repository.get(session.token_digest)
    assert found is not None
    assert (found.user_id, found.data) == (None, {"theme": "dark"})
    assert repository.delete(session)
    assert repository.get(session.token_digest) is None


def test_a_browser_session_cookie_is_stored_with_the_session(repository, clock, policy):
    session = a_session(now=clock.now(), policy=policy, persistent_cookie=False)
    repository.create(session, max_sessions=10)

    found = repository.get(session.token_digest)
    assert found is not None
    assert found.persistent_cookie is False
