from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from platform_sessions.domain.errors import (
    ExpiryReason,
    MalformedToken,
    PlatformInactive,
    PlatformNotFound,
    SessionExpired,
    SessionNotFound,
)
from platform_sessions.domain.routing import issue_token
from tests.builders import ROUTING_KEY


def test_a_valid_token_resolves_to_its_context(world):
    mastodon, _ = world.connect_two()
    started = world.start("alice", attributes={"name": "Alice"})
    context = world.resolve(str(started.token))
    assert context.user_id == "alice"
    assert context.platform == mastodon
    assert context.attributes == {"name": "Alice"}
    assert context.csrf_token == started.context.csrf_token
    assert not context.platform_fell_back
    assert not context.is_override


@pytest.mark.parametrize("raw", ["", "short", "x" * 100_000, "é" * 52, None, b"\xff" * 52, 12])
def test_a_malformed_token_is_refused_without_touching_a_store(world, raw):
    with pytest.raises(MalformedToken):
        world.resolve(raw)
    assert world.sessions.calls == {}


def test_an_unknown_token_is_not_found(world):
    with pytest.raises(SessionNotFound):
        world.resolve(str(issue_token(ROUTING_KEY, "alice")))


def test_an_idle_session_expires(world):
    started = world.start("alice")
    world.clock.advance(world.policy.idle_timeout)
    with pytest.raises(SessionExpired) as raised:
        world.resolve(str(started.token))
    assert raised.value.reason is ExpiryReason.IDLE


def test_activity_keeps_a_session_past_the_idle_timeout(world):
    started = world.start("alice")
    for _ in range(4):  # 4 x 50 min = 200 min > 2 h idle timeout
        world.clock.advance(timedelta(minutes=50))
        world.resolve(str(started.token))


def test_the_absolute_lifetime_ends_even_an_active_session(world):
    started = world.start("alice")
    step = world.policy.idle_timeout - timedelta(minutes=1)
    while world.clock.now() + step < started.context.session.absolute_expires_at:
        world.clock.advance(step)
        world.resolve(str(started.token))
    world.clock.set(started.context.session.absolute_expires_at)
    with pytest.raises(SessionExpired) as raised:
        world.resolve(str(started.token))
    assert raised.value.reason is ExpiryReason.ABSOLUTE


def test_no_write_inside_the_touch_interval(world):
    started = world.start("alice")
    writes_after_start = world.sessions.writes()
    for _ in range(5):
        world.clock.advance(timedelta(seconds=10))
        world.resolve(str(started.token))
    assert world.sessions.writes() == writes_after_start
    assert world.sessions.get(started.token.digest).last_seen_at == started.context.session.last_seen_at


def test_one_touch_once_the_interval_passed(world):
    started = world.start("alice")
    now = world.clock.advance(world.policy.touch_interval)
    context = world.resolve(str(started.token))
    assert world.sessions.calls["touch"] == 1
    assert context.session.last_seen_at == now
    assert context.session.version == started.context.session.version
    world.resolve(str(started.token))
    assert world.sessions.calls["touch"] == 1


def test_a_platform_deactivated_under_a_live_session_falls_back_to_the_default(world):
    mastodon, pixelfed = world.connect_two()
    started = world.start("alice", platform_id=pixelfed.id)
    # Deactivate behind the use cases' back, as another process would before repointing.
    with world.uow() as uow:
        uow.platforms.update(attrs.evolve(pixelfed, is_active=False))
        uow.commit()
    context = world.resolve(str(started.token))
    assert context.platform == mastodon
    assert context.platform_fell_back


def test_a_removed_platform_without_a_usable_default_falls_back_to_none(world):
    mastodon, pixelfed = world.connect_two()
    started = world.start("alice", platform_id=pixelfed.id)
    with world.uow() as uow:
        uow.platforms.remove(pixelfed.id)
        uow.platforms.remove(mastodon.id)
        uow.commit()
    context = world.resolve(str(started.token))
    assert context.platform is None
    assert context.platform_fell_back


def test_an_override_works_on_another_platform_for_one_request_only(world):
    mastodon, pixelfed = world.connect_two()
    started = world.start("alice")
    override = world.resolve(str(started.token), platform_override=pixelfed.id)
    assert override.platform == pixelfed
    assert override.is_override
    assert world.resolve(str(started.token)).platform == mastodon
    assert world.sessions.get(started.token.digest).active_platform_id == mastodon.id


def test_an_override_to_another_users_platform_is_not_found(world):
    world.connect_two()
    _, bobs = world.connect_two("bob")
    started = world.start("alice")
    with pytest.raises(PlatformNotFound):
        world.resolve(str(started.token), platform_override=bobs.id)


def test_an_override_to_an_inactive_platform_is_refused(world):
    _, pixelfed = world.connect_two()
    world.deactivate("alice", pixelfed.id)
    started = world.start("alice")
    with pytest.raises(PlatformInactive):
        world.resolve(str(started.token), platform_override=pixelfed.id)
