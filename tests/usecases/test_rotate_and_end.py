from __future__ import annotations

from datetime import timedelta

import pytest

from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.domain.events import EndReason, SessionEnded, SessionRotated, UserSessionsEnded
from platform_sessions.domain.session import SessionChanges


def test_rotation_gives_a_new_token_for_the_same_session(world):
    world.connect_two()
    started = world.start("alice", attributes={"role": "admin"})
    rotated = world.rotate(started.context.session)
    assert rotated.token != started.token
    with pytest.raises(SessionNotFound):
        world.resolve(str(started.token))
    context = world.resolve(str(rotated.token))
    assert context.session.session_id == started.context.session.session_id
    assert context.handle == started.context.handle
    assert context.attributes == {"role": "admin"}
    assert context.platform == started.context.platform
    assert context.csrf_token != started.context.csrf_token  # a leaked old one is worth nothing
    assert [e.session_handle for e in world.events(SessionRotated)] == [started.context.handle]


def test_rotation_after_a_concurrent_change_keeps_that_change(world):
    started = world.start("alice")
    world.sessions.update(started.context.session, SessionChanges(attributes={"x": 1}))
    rotated = world.rotate(started.context.session)  # stale read: re-read and retried
    assert world.resolve(str(rotated.token)).attributes == {"x": 1}


def test_rotating_an_ended_session_fails(world):
    started = world.start("alice")
    world.end(started.context.session)
    with pytest.raises(SessionNotFound):
        world.rotate(started.context.session)


def test_ending_a_session_logs_out_once(world):
    started = world.start("alice")
    assert world.end(started.context.session) is True
    assert world.end(started.context.session) is False
    with pytest.raises(SessionNotFound):
        world.resolve(str(started.token))
    [event] = world.events(SessionEnded)
    assert event.reason is EndReason.LOGOUT


def test_nothing_brings_an_ended_session_back(world):
    started = world.start("alice")
    session = started.context.session
    world.end(session)
    world.clock.advance(world.policy.touch_interval * 2)
    assert world.sessions.touch(session, world.clock.now()) is None
    with pytest.raises(SessionNotFound):
        world.sessions.update(session, SessionChanges(attributes={"zombie": True}))
    with pytest.raises(SessionNotFound):
        world.resolve(str(started.token))
    assert world.list_sessions("alice") == []


def test_revoking_another_device_by_its_handle(world):
    laptop, phone = world.start("alice"), world.start("alice")
    world.revoke("alice", phone.context.handle)
    with pytest.raises(SessionNotFound):
        world.resolve(str(phone.token))
    world.resolve(str(laptop.token))
    [event] = world.events(SessionEnded)
    assert event.reason is EndReason.REVOKED


def test_a_handle_of_another_user_cannot_be_revoked(world):
    bob = world.start("bob")
    with pytest.raises(SessionNotFound):
        world.revoke("alice", bob.context.handle)
    world.resolve(str(bob.token))


def test_an_unknown_handle_is_not_found(world):
    world.start("alice")
    with pytest.raises(SessionNotFound):
        world.revoke("alice", "0" * 24)


def test_ending_all_sessions_can_keep_the_current_one(world):
    current, other, another = world.start("alice"), world.start("alice"), world.start("alice")
    bob = world.start("bob")
    assert world.end_all("alice", keep=current.context.session) == 2
    world.resolve(str(current.token))
    world.resolve(str(bob.token))
    for ended in (other, another):
        with pytest.raises(SessionNotFound):
            world.resolve(str(ended.token))
    [event] = world.events(UserSessionsEnded)
    assert (event.ended_count, event.kept_session_handle) == (2, current.context.handle)


def test_ending_all_sessions_without_keeping(world):
    sessions = [world.start("alice") for _ in range(3)]
    assert world.end_all("alice") == 3
    assert world.list_sessions("alice") == []
    assert all(world.sessions.get(s.token.digest) is None for s in sessions)


def test_keeping_another_users_session_keeps_nothing(world):
    alice, bob = world.start("alice"), world.start("bob")
    assert world.end_all("alice", keep=bob.context.session) == 1
    world.resolve(str(bob.token))
    with pytest.raises(SessionNotFound):
        world.resolve(str(alice.token))


def test_listing_shows_live_sessions_with_metadata_most_recent_first(world):
    from platform_sessions.domain.client import ClientInfo

    old = world.start("alice", client=ClientInfo("Old phone", "198.51.100.1"))
    world.clock.advance(world.policy.idle_timeout + timedelta(seconds=1))
    laptop = world.start("alice", client=ClientInfo("Laptop", "192.0.2.1"))
    world.clock.advance(timedelta(minutes=5))
    phone = world.start("alice", client=ClientInfo("Phone", "192.0.2.2"))
    summaries = world.list_sessions("alice", current=laptop.context.session.session_id)
    assert [s.handle for s in summaries] == [phone.context.handle, laptop.context.handle]
    assert [s.is_current for s in summaries] == [False, True]
    assert summaries[1].client == ClientInfo("Laptop", "192.0.2.1")
    assert summaries[1].expires_at == laptop.context.session.expires_at(world.policy)
    assert old.context.handle not in {s.handle for s in summaries}
    assert "session_id" not in repr(summaries)
    assert str(laptop.token) not in repr(summaries)


def test_purge_removes_only_expired_sessions(world):
    from platform_sessions.domain.errors import InvalidInput

    stale = [world.start(f"user{i}") for i in range(5)]
    world.clock.advance(world.policy.idle_timeout + timedelta(seconds=1))
    live = world.start("alice")
    assert world.purge(batch_size=2) == 5
    assert all(world.sessions.get(s.token.digest) is None for s in stale)
    world.resolve(str(live.token))
    with pytest.raises(InvalidInput):
        world.purge(batch_size=0)


# Ending a session ends it by its stable id, whatever rotations happened since it was read.


def test_a_logout_with_the_context_resolved_before_a_rotation_still_ends_the_session(world):
    started = world.start("alice")
    resolved = world.resolve(str(started.token)).session  # this request's context
    rotated = world.rotate(resolved)  # another request rotates meanwhile
    assert world.end(resolved) is True
    for token in (started.token, rotated.token):
        with pytest.raises(SessionNotFound):
            world.resolve(str(token))
    assert world.list_sessions("alice") == []
    [event] = world.events(SessionEnded)
    assert event.session_handle == started.context.handle


def test_a_logout_after_several_rotations_ends_the_session_once(world):
    started = world.start("alice")
    session = started.context.session
    tokens = [started.token]
    for _ in range(3):
        rotated = world.rotate(world.resolve(str(tokens[-1])).session)
        tokens.append(rotated.token)
    assert world.end(session) is True
    assert world.end(session) is False
    assert all(world.sessions.get(token.digest) is None for token in tokens)
    assert len(world.events(SessionEnded)) == 1


def test_revoking_a_session_rotated_after_it_was_listed_still_ends_it(world):
    phone = world.start("alice")
    laptop = world.start("alice")
    world.clock.advance(world.policy.touch_interval)
    listed = {s.session_id: s for s in world.sessions.list_for_user("alice", world.clock.now())}
    rotated = world.rotate(phone.context.session)
    world.end(listed[phone.context.session.session_id], reason=EndReason.REVOKED)
    assert world.sessions.get(rotated.token.digest) is None
    assert world.resolve(str(laptop.token)).session.session_id == laptop.context.session.session_id
