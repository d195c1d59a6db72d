"""Session data on two tiers: the database decides, Redis gets only the keys a write changed,
and a Redis that missed a version is brought in line whole (never left with a gap)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import event

from platform_sessions.adapters.redis import RedisEndpoint
from platform_sessions.domain.errors import StoreUnavailable
from platform_sessions.domain.session_data import SessionDataChanges
from platform_sessions.entrypoints.two_tier_storage import TwoTierStorage
from tests.builders import a_session
from tests.two_tier.faults import owed_outbox_depth
from tests.two_tier.wiring import two_tier_storage

MAX_BYTES = 64 * 1024


@pytest.fixture
def storage(tmp_path, policy, clock) -> Iterator[TwoTierStorage]:
    with two_tier_storage(
        RedisEndpoint.in_process(), f"sqlite:///{tmp_path / 'data.db'}", policy=policy, clock=clock
    ) as built:
        yield built


def test_a_data_write_mirrors_only_the_keys_it_changed(storage, clock, policy):
    repository = storage.user_sessions()
    session = a_session(now=clock.now(), policy=policy, data={"a": 1, "b": 2})
    repository.create(session, max_sessions=5)
    key = storage.keys().session(session.token_digest)
    client = storage.client()
    # A field no data write knows about: a mirror that put the whole session would drop it.
    client.hset(key, "written_by_someone_else", "still here")

    stored = repository.write_data(
        session, SessionDataChanges(set={"c": 3}, delete=frozenset({"a"})), max_bytes=MAX_BYTES
    )

    fields = client.hgetall(key)
    assert fields[b"written_by_someone_else"] == b"still here"
    assert (fields[b"d:b"], fields[b"d:c"], b"d:a" in fields) == (b"2", b"3", False)
    assert int(fields[b"version"]) == stored.version == 2
    mirrored = storage.redis_sessions().get(session.token_digest)
    assert mirrored is not None
    assert mirrored.data == stored.data == {"b": 2, "c": 3}


def test_a_redis_that_missed_a_version_gets_the_whole_session(storage, clock, policy):
    repository = storage.user_sessions()
    session = a_session(now=clock.now(), policy=policy, data={"a": 1})
    repository.create(session, max_sessions=5)
    key = storage.keys().session(session.token_digest)
    storage.client().delete(key)  # as if Redis lost it (a restart, a failover)

    repository.write_data(session, SessionDataChanges(set={"b": 2}), max_bytes=MAX_BYTES)

    mirrored = storage.redis_sessions().get(session.token_digest)
    assert mirrored is not None
    assert (mirrored.version, mirrored.data) == (2, {"a": 1, "b": 2})


def test_a_data_write_redis_did_not_hear_of_is_relayed(storage, clock, policy, monkeypatch):
    repository = storage.user_sessions()
    session = a_session(now=clock.now(), policy=policy, data={"a": 1})
    repository.create(session, max_sessions=5)
    mirror = storage.mirror()

    def lost(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("injected: Redis write lost") from RedisConnectionError("injected")

    monkeypatch.setattr(mirror, "put_data", lost)
    stored = repository.write_data(session, SessionDataChanges(set={"b": 2}), max_bytes=MAX_BYTES)
    monkeypatch.undo()
    assert owed_outbox_depth(storage) == 1

    storage.relay().drain()

    mirrored = storage.redis_sessions().get(session.token_digest)
    assert mirrored is not None
    assert (mirrored.version, mirrored.data) == (stored.version, {"a": 1, "b": 2})
    assert owed_outbox_depth(storage) == 0


def test_a_data_write_costs_one_transaction_and_one_redis_round_trip(storage, clock, policy):
    repository = storage.user_sessions()
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=5)
    transactions: list[object] = []
    event.listen(storage.engine(), "commit", transactions.append)

    repository.write_data(session, SessionDataChanges(set={"a": 1}), max_bytes=MAX_BYTES)

    assert len(transactions) == 1
