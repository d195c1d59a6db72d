"""Session data (issue 15): per-key writes, visitors' sessions, carrying them into a login,
and the per-login lifetime and cookie choice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platform_sessions.domain.errors import (
    ConcurrentUpdate,
    InvalidInput,
    InvalidSessionData,
    PlatformNotFound,
    SessionDataTooLarge,
    SessionExpired,
    SessionNotFound,
)
from platform_sessions.domain.events import SessionEnded, SessionStarted
from platform_sessions.domain.session_data import SessionDataChanges
from tests.usecases.test_commit_outcome_unknown import MODES, lose_once
from tests.usecases.world import World


def _set(**values: object) -> SessionDataChanges:
    return SessionDataChanges(values)


# writing data


def test_a_write_merges_keys_and_the_next_request_reads_them(world: World):
    started = world.start("alice")
    world.write_data(started.context.session, _set(cart=[1]))
    world.write_data(started.context.session, _set(flash="saved"))  # the same, older, copy
    resolved = world.resolve(str(started.token))
    assert resolved.data == {"cart": [1], "flash": "saved"}
    assert resolved.session.version == started.context.session.version + 2


def test_an_empty_change_writes_nothing(world: World):
    started = world.start("alice")
    writes = world.sessions.writes()
    assert world.write_data(started.context.session, SessionDataChanges()) is started.context.session
    assert world.sessions.writes() == writes


def test_a_compare_and_set_refuses_a_stale_version(world: World):
    session = world.start("alice").context.session
    world.write_data(session, _set(n=1))
    with pytest.raises(ConcurrentUpdate):
        world.write_data(session, _set(n=2), expected_version=session.version)


def test_values_are_checked_against_this_policys_limits(world: World):
    session = world.start("alice").context.session
    big = "x" * world.policy.max_data_value_bytes
    with pytest.raises(SessionDataTooLarge):
        world.write_data(session, SessionDataChanges({"big": big}, max_value_bytes=10**9))
    many = {f"k{i}": "x" * (world.policy.max_data_value_bytes // 2) for i in range(10)}
    with pytest.raises(SessionDataTooLarge):
        world.write_data(session, _set(**many))
    assert "write_data" not in world.sessions.calls  # refused before any I/O
    value = "x" * (world.policy.max_data_value_bytes - 100)  # five of them do not fit
    written = world.write_data(session, _set(a=value, b=value, c=value))
    with pytest.raises(SessionDataTooLarge):  # the store measures the merged data
        world.write_data(written, _set(d=value, e=value))
    assert world.sessions.get(session.token_digest) == written


def test_a_write_to_an_ended_session_is_refused(world: World):
    session = world.start("alice").context.session
    world.end(session)
    with pytest.raises(SessionNotFound):
        world.write_data(session, _set(a=1))


@pytest.mark.parametrize("mode", MODES)
def test_a_write_whose_commit_was_lost_is_made_once(world: World, mode: str):
    session = world.start("alice").context.session
    happened = lose_once(world.sessions, "write_data", mode)
    written = world.write_data(session, _set(a=1), expected_version=session.version)
    assert happened == ([mode] if mode == "landed" else [mode, "again"])
    assert (written.data, written.version) == ({"a": 1}, session.version + 1)


# anonymous sessions


def test_a_visitors_first_write_starts_an_anonymous_session(world: World):
    started = world.start_anonymous({"cart": [7]})
    context = world.resolve(str(started.token))
    assert context.is_anonymous
    assert (context.user_id, context.platform, context.data) == (None, None, {"cart": [7]})
    assert context.session.absolute_expires_at == world.clock.now() + world.policy.anonymous_lifetime
    assert world.publisher.published == []  # a visitor has no event channel


def test_an_anonymous_session_needs_data_and_belongs_to_nobody(world: World):
    with pytest.raises(InvalidSessionData):
        world.start_anonymous({})
    started = world.start_anonymous({"a": 1})
    assert world.list_sessions("alice") == []
    with pytest.raises(PlatformNotFound):
        world.resolve(str(started.token), platform_override="p1")


def test_an_anonymous_session_idles_out_by_the_anonymous_timeout(world: World):
    started = world.start_anonymous({"a": 1})
    world.clock.advance(world.policy.anonymous_idle_timeout + timedelta(seconds=1))
    with pytest.raises(SessionExpired):
        world.resolve(str(started.token))


def test_anonymous_sessions_never_count_against_a_users_limit(world: World):
    users = [world.start("alice") for _ in range(world.policy.max_sessions_per_user)]
    visitors = [world.start_anonymous({"n": n}) for n in range(5)]
    assert len(world.list_sessions("alice")) == len(users)
    assert all(world.resolve(str(v.token)).is_anonymous for v in visitors)


def test_a_platform_switch_of_an_anonymous_session_is_refused(world: World):
    world.connect_two()
    session = world.start_anonymous({"a": 1}).context.session
    with pytest.raises(SessionNotFound):
        world.switch(session, "any")


# login carries the visitor's data


def test_login_carries_the_visitors_data_under_a_new_token_and_ends_the_old_one(world: World):
    visitor = world.start_anonymous({"oauth_state": "xyz"})
    # another request of the visitor wrote a key after this one resolved
    world.write_data(visitor.context.session, _set(cart=[1]))

    started = world.start("alice", carry_from=visitor.context.session)

    assert started.token != visitor.token
    assert world.resolve(str(started.token)).data == {"oauth_state": "xyz", "cart": [1]}
    with pytest.raises(SessionNotFound):
        world.resolve(str(visitor.token))
    assert [s.handle for s in world.list_sessions("alice")] == [started.context.handle]
    assert len(world.events(SessionStarted)) == 1
    assert world.events(SessionEnded) == []


def test_only_an_anonymous_session_is_carried(world: World):
    other = world.start("bob").context.session
    with pytest.raises(InvalidInput):
        world.start("alice", carry_from=other)


def test_a_visitor_session_gone_before_login_still_gives_its_copy(world: World):
    visitor = world.start_anonymous({"a": 1})
    world.end(visitor.context.session)
    started = world.start("alice", carry_from=visitor.context.session)
    assert started.context.data == {"a": 1}


# per-login lifetime and cookie


def test_a_login_can_choose_a_shorter_lifetime_and_a_browser_session_cookie(world: World):
    started = world.start("alice", lifetime=timedelta(hours=3), persistent_cookie=False)
    stored = world.sessions.get(started.token.digest)
    assert stored is not None
    assert stored.absolute_expires_at == world.clock.now() + timedelta(hours=3)
    assert stored.persistent_cookie is False
    rotated = world.rotate(stored)
    assert rotated.session.persistent_cookie is False


@pytest.mark.parametrize("lifetime", [timedelta(0), timedelta(days=-1), timedelta(days=365)])
def test_a_lifetime_out_of_bounds_is_refused_before_any_io(world: World, lifetime: timedelta):
    with pytest.raises(InvalidInput):
        world.start("alice", lifetime=lifetime)
    assert world.sessions.calls == {}
