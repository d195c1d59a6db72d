"""The per-user index stays consistent: pruned lazily, swept by purge, never a leak."""

from __future__ import annotations

from datetime import timedelta

from platform_sessions.adapters.redis.epoch import to_micros
from tests.builders import a_session


def _members(world, user_id: str = "alice") -> set[str]:  # type: ignore[no-untyped-def]
    return {m.decode() for m in world.client.zrange(world.keys.index_for(user_id), 0, -1)}


def test_the_index_is_scored_by_the_absolute_deadline(world, clock, policy):
    session = a_session(now=clock.now(), policy=policy)
    world.repository.create(session, max_sessions=3)
    score = world.client.zscore(world.keys.index_for("alice"), session.token_digest.hex)
    assert score is not None
    assert int(score) == to_micros(session.absolute_expires_at)


def test_listing_prunes_members_whose_session_was_reclaimed_by_its_ttl(world, clock, policy):
    kept, reclaimed = (a_session(now=clock.now(), policy=policy) for _ in range(2))
    for session in (kept, reclaimed):
        world.repository.create(session, max_sessions=3)
    world.client.delete(world.keys.session(reclaimed.token_digest))  # what its TTL would do
    assert [s.session_id for s in world.repository.list_for_user("alice", clock.now())] == [kept.session_id]
    assert _members(world) == {kept.token_digest.hex}


def test_creating_at_the_limit_prunes_reclaimed_members_instead_of_evicting(world, clock, policy):
    first, second = (a_session(now=clock.now(), policy=policy) for _ in range(2))
    for session in (first, second):
        world.repository.create(session, max_sessions=2)
    world.client.delete(world.keys.session(first.token_digest))
    third = a_session(now=clock.now(), policy=policy)
    assert world.repository.create(third, max_sessions=2) == []
    assert _members(world) == {second.token_digest.hex, third.token_digest.hex}


def test_members_past_their_absolute_deadline_leave_the_index_on_the_next_login(world, clock, policy):
    old = a_session(now=clock.now(), policy=policy)
    world.repository.create(old, max_sessions=3)
    clock.advance(policy.absolute_lifetime + timedelta(seconds=1))
    new = a_session(now=clock.now(), policy=policy)
    world.repository.create(new, max_sessions=3)
    assert _members(world) == {new.token_digest.hex}


def test_purge_sweeps_expired_sessions_with_their_index_entries_in_small_batches(world, clock, policy):
    expired = [a_session(user_id=f"user{n}", now=clock.now(), policy=policy) for n in range(5)]
    for session in expired:
        world.repository.create(session, max_sessions=3)
    clock.advance(policy.idle_timeout + timedelta(minutes=1))
    live = a_session(user_id="user0", now=clock.now(), policy=policy)
    world.repository.create(live, max_sessions=3)
    world.client.set(world.keys.session_in(world.keys.tag_for("x"), "0" * 64), "garbage")  # skipped
    assert world.repository.purge_expired(clock.now(), batch_size=1) == 5
    assert world.repository.purge_expired(clock.now(), batch_size=1) == 0
    assert world.repository.get(live.token_digest) == live
    assert _members(world, "user0") == {live.token_digest.hex}
    for n in range(1, 5):
        assert _members(world, f"user{n}") == set()
