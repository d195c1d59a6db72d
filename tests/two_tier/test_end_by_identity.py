"""Ending a session by its stable id on the two-tier storage: a rotation between the request's
read and its logout does not save the session, and no token it ever had comes back, whether
Redis takes the end at once or only through the outbox; neither a late refill, the relay nor a
rewarm brings it back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from platform_sessions.adapters.redis import RedisEndpoint
from platform_sessions.adapters.redis.session_codec import encode_session
from platform_sessions.domain.routing import issue_token
from platform_sessions.domain.session import UserSession, new_csrf_token
from platform_sessions.domain.token import TokenDigest
from platform_sessions.entrypoints.two_tier_storage import TwoTierStorage
from tests.builders import ROUTING_KEY, a_session
from tests.two_tier.wiring import LEGS, leg_storage, two_tier_sessions


@pytest.fixture(params=[LEGS[0], LEGS[1]])
def storage(request: pytest.FixtureRequest, tmp_path, policy, clock) -> Iterator[TwoTierStorage]:
    yield from leg_storage(request, request.param, tmp_path, policy, clock)


def _rotated_twice(storage: TwoTierStorage, session: UserSession) -> tuple[UserSession, list[TokenDigest]]:
    repository = storage.user_sessions()
    current, digests = session, [session.token_digest]
    for _ in range(2):
        current = repository.rotate(
            current, issue_token(ROUTING_KEY, session.user_id).digest, new_csrf_token()
        )
        digests.append(current.token_digest)
    return current, digests


def _row_of(storage: TwoTierStorage, session: UserSession) -> object:
    rows = storage.tables().user_sessions
    with storage.engine().connect() as connection:
        return connection.execute(
            select(rows.session_id).where(rows.session_id == session.session_id)
        ).first()


def _assert_dead_everywhere(
    storage: TwoTierStorage, session: UserSession, digests: list[TokenDigest], clock
) -> None:
    redis, keys = storage.client(), storage.keys()
    for digest in digests:
        assert redis.exists(keys.session(digest)) == 0, "a token of the ended session is in Redis"
        assert redis.exists(keys.tombstone(digest)) == 1, "a token of the ended session has no tombstone"
        assert storage.user_sessions().get(digest) is None
        assert storage.session_contexts().load(digest, now=clock.now()) is None
    assert _row_of(storage, session) is None
    assert storage.user_sessions().list_for_user(session.logged_in_user_id, clock.now()) == []


def _nothing_comes_back(
    storage: TwoTierStorage, late: UserSession, session: UserSession, digests, clock
) -> None:
    storage.recorder().refresh(late, clock.now())  # a reader that read the database before the end
    storage.relay().drain()
    storage.rewarmer().rewarm()
    _assert_dead_everywhere(storage, session, digests, clock)


def test_an_end_with_the_read_before_a_rotation_ends_it_under_every_token(storage, clock, policy):
    repository = storage.user_sessions()
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=5)
    current, digests = _rotated_twice(storage, session)
    assert repository.delete(session) is True  # the request's read predates both rotations
    _assert_dead_everywhere(storage, session, digests, clock)
    _nothing_comes_back(storage, current, session, digests, clock)
    assert repository.delete(current) is False


def test_an_end_redis_missed_reaches_every_token_through_the_outbox(storage, clock, policy):
    repository = storage.user_sessions()
    session = a_session(now=clock.now(), policy=policy)
    repository.create(session, max_sessions=5)
    current, digests = _rotated_twice(storage, session)
    for _ in range(3):
        storage.breaker().record_failure()  # Redis "down": the end reaches the database only
    assert repository.delete(session) is True
    assert storage.client().exists(storage.keys().session(current.token_digest)) == 1  # stale, owed
    with storage.database().transaction("look", read_only=True) as tx:
        assert tx.outbox.stats().depth == 2  # the digest the caller knew, and the current one
    assert storage.relay().drain() == 2
    _assert_dead_everywhere(storage, session, digests, clock)
    _nothing_comes_back(storage, current, session, digests, clock)


def test_already_active_is_decided_on_the_database_when_redis_trails_it(tmp_path, policy, clock):
    """Redis missed a switch's mirror write (the breaker stayed closed): it still shows the
    platform the session left. A switch back with a copy as stale as Redis's must not take
    Redis's word for "already active"."""
    with two_tier_sessions(
        RedisEndpoint.in_process(),
        f"sqlite:///{tmp_path / 'stale.db'}",
        policy=policy,
        clock=clock,
    ) as (sessions, storage):
        for name in ("Mastodon", "Pixelfed"):
            sessions.connect_platform(
                "alice",
                name=name,
                platform_type=name.lower(),
                instance_url=f"https://{name}.example",
                username="a",
            )
        started = sessions.start_session("alice")
        stale = sessions.resolve(str(started.token))
        home = stale.platform_id
        assert home is not None
        other = next(p.id for p in sessions.list_platforms("alice") if p.id != home)
        away = sessions.switch_platform(stale, other)
        # The mirror write of that switch is lost: Redis keeps the session as it was.
        key, label = storage.keys().session(stale.session.token_digest), storage.keys().label_for("alice")
        storage.client().delete(key)
        storage.client().hset(key, mapping=encode_session(stale.session, label))  # type: ignore[arg-type]
        assert storage.user_sessions().get(stale.session.token_digest) == stale.session

        back = sessions.switch_platform(stale, home)

        assert back.changed
        assert (back.session.version, back.session.active_platform_id) == (away.session.version + 1, home)
        with storage.uow_factory() as uow:
            assert storage.user_sessions().get(stale.session.token_digest, within=uow) == back.session
