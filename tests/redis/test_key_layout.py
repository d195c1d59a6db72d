"""Where things are stored: one hash slot per user, nothing revealing who, fields by schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.crc import key_slot

from platform_sessions.adapters.redis import (
    RedisClient,
    RedisEventPublisher,
    RedisKeys,
    RedisPlatformCache,
    RedisPlatformDirectory,
    RedisSessionContextQuery,
    RedisUserSessionRepository,
)
from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.routing import issue_token
from platform_sessions.domain.session import SessionChanges, new_csrf_token
from tests.builders import ROUTING_KEY, a_platform, a_session
from tests.contracts.platform_directory import save
from tests.redis.legs import everything_stored
from tests.redis.sharing import SHARED_TAG, SharedTagKeys, shared_tag_token

USER = "alice@example.com"


def _keys(client: RedisClient) -> list[bytes]:
    return [key for key, _ in everything_stored(client)]


def test_every_key_of_a_user_shares_one_hash_slot_and_none_reveals_the_user(world, clock, policy):
    save(world.uow_factory, a_platform(user_id=USER, is_default=True))
    sessions = [a_session(user_id=USER, now=clock.now(), policy=policy) for _ in range(3)]
    for session in sessions:
        world.repository.create(session, max_sessions=10)
    assert world.query.load(sessions[0].token_digest, now=clock.now()) is not None  # fills the cache
    stored = _keys(world.client)
    assert len(stored) == 5  # three sessions, the index, the platform cache
    slot = key_slot(world.keys.events_channel(USER).encode())
    assert {key_slot(key) for key in stored} == {slot}
    for key in stored:
        assert USER.encode() not in key
        assert b"alice" not in key


def test_the_layout_is_prefix_tag_kind_and_digest_or_label(redis_client, repository, clock, policy):
    keys = RedisKeys(ROUTING_KEY)
    session = a_session(user_id=USER, now=clock.now(), policy=policy)
    repository.create(session, max_sessions=10)
    tag, label = keys.tag_for(USER).value, keys.label_for(USER)
    assert sorted(_keys(redis_client)) == sorted(
        [f"ps:{{{tag}}}:s:{session.token_digest.hex}".encode(), f"ps:{{{tag}}}:u:{label}".encode()]
    )
    assert keys.platform_cache(keys.tag_for(USER)) == f"ps:{{{tag}}}:p"
    assert keys.events_channel(USER) == f"ps:{{{tag}}}:e:{label}"


def test_a_session_is_a_hash_of_plain_fields_with_a_schema_version(
    redis_client, repository, keys, clock, policy
):
    session = a_session(user_id=USER, now=clock.now(), policy=policy, attributes={"b": 1, "a": [True]})
    repository.create(session, max_sessions=10)
    stored = redis_client.hgetall(keys.session(session.token_digest))
    assert stored[b"schema"] == b"1"
    assert stored[b"user_label"] == keys.label_for(USER).encode()
    assert int(stored[b"created_at_us"]) == int(session.created_at.timestamp()) * 1_000_000
    assert stored[b"attributes"] == b'{"a":[true],"b":1}'
    assert b"active_platform_id" not in stored  # none: no field at all


def test_an_update_writes_only_the_changed_fields(redis_client, repository, keys, clock, policy):
    session = a_session(user_id=USER, now=clock.now(), policy=policy, attributes={"keep": "me"})
    repository.create(session, max_sessions=10)
    key = keys.session(session.token_digest)
    # A field no update knows about: an update that rewrote the hash would lose it.
    redis_client.hset(key, "written_by_someone_else", "still here")
    repository.update(session, SessionChanges(active_platform_id="p2"))
    stored = redis_client.hgetall(key)
    assert stored[b"written_by_someone_else"] == b"still here"
    assert stored[b"active_platform_id"] == b"p2"
    assert stored[b"version"] == b"2"


def test_a_custom_prefix_prefixes_every_key(redis_client, policy, clock):
    keys = RedisKeys(ROUTING_KEY, prefix="app:sessions:")
    repository = RedisUserSessionRepository(redis_client, keys, policy)
    repository.create(a_session(user_id=USER, now=clock.now(), policy=policy), max_sessions=10)
    assert all(key.startswith(b"app:sessions:{") for key in _keys(redis_client))


@pytest.mark.parametrize("prefix", ["a{b", "a}b", "bad\nprefix"])
def test_a_prefix_that_would_move_the_hash_slot_is_refused(prefix):
    from platform_sessions.adapters.redis import RedisOptions

    with pytest.raises(InvalidInput):
        RedisOptions(key_prefix=prefix)


class TestUsersSharingATag:
    """Their keys share a slot; their sessions, indexes, caches and channels stay apart."""

    @pytest.fixture
    def shared_keys(self) -> SharedTagKeys:
        return SharedTagKeys(ROUTING_KEY)

    @pytest.fixture
    def shared_repository(self, redis_client, shared_keys, policy):
        return RedisUserSessionRepository(redis_client, shared_keys, policy)

    @pytest.fixture
    def shared_directory(self, redis_client, shared_keys, backing_directory):
        return RedisPlatformDirectory(
            RedisPlatformCache(redis_client, shared_keys, ttl=timedelta(minutes=5)), backing_directory
        )

    def _start(self, repository, user_id, clock, policy, **fields):  # type: ignore[no-untyped-def]
        session = a_session(
            user_id=user_id, now=clock.now(), policy=policy, token_digest=shared_tag_token().digest, **fields
        )
        assert repository.create(session, max_sessions=2) == []
        return session

    def test_their_sessions_are_listed_limited_and_ended_separately(self, shared_repository, clock, policy):
        alice = [self._start(shared_repository, "alice", clock, policy) for _ in range(2)]
        bob = self._start(shared_repository, "bob", clock, policy)
        assert {s.session_id for s in shared_repository.list_for_user("alice", clock.now())} == {
            s.session_id for s in alice
        }
        # Bob's limit counts Bob's sessions only: his second session evicts nobody.
        assert self._start(shared_repository, "bob", clock, policy) is not None
        ended = shared_repository.delete_all_for_user("alice")
        assert {s.session_id for s in ended} == {s.session_id for s in alice}
        assert shared_repository.get(bob.token_digest) == bob

    def test_their_cached_platforms_and_channels_stay_apart(
        self, world, shared_keys, shared_directory, clock, policy
    ):
        redis_client = world.client
        shared_repository = RedisUserSessionRepository(redis_client, shared_keys, policy)
        alices, bobs = (
            a_platform(user_id="alice", is_default=True),
            a_platform(user_id="bob", is_default=True),
        )
        save(world.uow_factory, alices, bobs)
        session = self._start(shared_repository, "alice", clock, policy, active_platform_id=bobs.id)
        query = RedisSessionContextQuery(
            redis_client,
            shared_keys,
            policy,
            RedisPlatformCache(redis_client, shared_keys, ttl=timedelta(minutes=5)),
            shared_directory,
        )
        assert shared_directory.default_for("bob") == bobs  # Bob's fields fill the shared hash
        snapshot = query.load(session.token_digest, now=clock.now(), requested_platform_id=bobs.id)
        assert snapshot is not None
        assert snapshot.active_platform is None  # Bob's platform, not Alice's
        assert snapshot.requested_platform is None
        assert snapshot.default_platform == alices
        shared_directory.invalidate("alice")
        assert shared_directory.get("bob", bobs.id) == bobs
        publisher = RedisEventPublisher(redis_client, shared_keys)
        assert publisher.channel_for("alice") != publisher.channel_for("bob")
        assert SHARED_TAG.value in publisher.channel_for("alice")


def test_a_rotation_must_keep_the_routing_tag(repository, clock, policy):
    session = a_session(user_id=USER, now=clock.now(), policy=policy)
    repository.create(session, max_sessions=10)
    with pytest.raises(InvalidInput):
        repository.rotate(session, issue_token(ROUTING_KEY, "someone else").digest, new_csrf_token())
