from __future__ import annotations

from datetime import timedelta

import pytest

from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.errors import (
    InvalidAttributes,
    InvalidInput,
    PlatformInactive,
    PlatformNotFound,
)
from platform_sessions.domain.events import EndReason, SessionEnded, SessionStarted
from platform_sessions.domain.token import SessionToken


def test_a_session_starts_on_the_users_default_platform(world):
    mastodon, _ = world.connect_two()
    started = world.start("alice", client=ClientInfo("Firefox", "192.0.2.1"), attributes={"role": "editor"})
    assert SessionToken.parse(str(started.token)) == started.token
    assert started.context.platform == mastodon
    stored = world.sessions.get(started.token.digest)
    assert stored == started.context.session
    assert stored.active_platform_id == mastodon.id
    assert stored.attributes == {"role": "editor"}
    assert stored.client == ClientInfo("Firefox", "192.0.2.1")
    assert stored.absolute_expires_at == world.clock.now() + world.policy.absolute_lifetime
    assert [e.session_handle for e in world.events(SessionStarted)] == [stored.handle]


def test_a_session_starts_on_the_platform_asked_for(world):
    _, pixelfed = world.connect_two()
    started = world.start("alice", platform_id=pixelfed.id)
    assert started.context.platform_id == pixelfed.id


def test_a_user_without_platforms_starts_on_none(world):
    started = world.start("alice")
    assert started.context.platform is None
    assert started.context.session.active_platform_id is None


def test_an_inactive_default_is_not_started_on(world):
    mastodon, _ = world.connect_two()
    world.deactivate("alice", mastodon.id)
    assert world.start("alice").context.platform is None


def test_a_platform_of_another_user_is_not_found(world):
    _, bobs = world.connect_two("bob")
    with pytest.raises(PlatformNotFound):
        world.start("alice", platform_id=bobs.id)
    assert world.sessions.writes() == 0


def test_an_unknown_platform_is_not_found(world):
    with pytest.raises(PlatformNotFound):
        world.start("alice", platform_id="nope")


def test_an_inactive_platform_cannot_be_started_on(world):
    _, pixelfed = world.connect_two()
    world.deactivate("alice", pixelfed.id)
    with pytest.raises(PlatformInactive):
        world.start("alice", platform_id=pixelfed.id)


@pytest.mark.parametrize("user_id", ["", None, 42, "x" * 256, "bad\nid"])
def test_a_bad_user_id_is_refused_before_any_io(world, user_id):
    with pytest.raises(InvalidInput):
        world.start(user_id)
    assert world.sessions.calls == {}


@pytest.mark.parametrize(
    "attributes",
    [{"when": object()}, {1: "x"}, {"big": "x" * 5000}, {"nan": float("nan")}, ["not", "a", "map"]],
)
def test_bad_attributes_are_refused_and_nothing_is_stored(world, attributes):
    with pytest.raises(InvalidAttributes):
        world.start("alice", attributes=attributes)
    assert world.sessions.calls == {}


def test_starting_past_the_limit_ends_the_least_recently_seen(world):
    first = world.start("alice")
    world.clock.advance(timedelta(minutes=1))
    second = world.start("alice")
    world.clock.advance(timedelta(minutes=1))
    third = world.start("alice")
    world.clock.advance(timedelta(minutes=2))
    world.resolve(str(first.token))  # touches the first: the second is now the oldest seen
    fourth = world.start("alice")
    assert fourth.evicted_count == 1
    assert world.sessions.get(second.token.digest) is None
    for kept in (first, third, fourth):
        assert world.sessions.get(kept.token.digest) is not None
    ended = world.events(SessionEnded)
    assert [(e.session_handle, e.reason) for e in ended] == [(second.context.handle, EndReason.EVICTED)]


def test_the_store_sees_only_the_tokens_digest(world):
    started = world.start("alice")
    stored = world.sessions.get(started.token.digest)
    assert str(started.token) not in repr(stored)
    assert str(started.token) not in repr(started)
