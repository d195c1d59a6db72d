from __future__ import annotations

import attrs
import pytest

from platform_sessions.adapters.memory import InMemoryUnitOfWork
from platform_sessions.domain.errors import (
    ConcurrentUpdate,
    PlatformInactive,
    PlatformNotFound,
    SessionNotFound,
)
from platform_sessions.domain.events import PlatformSwitched
from platform_sessions.domain.session import SessionChanges


def test_a_switch_changes_the_platform_stamps_last_used_and_tells_others(world):
    mastodon, pixelfed = world.connect_two()
    started = world.start("alice")
    now = world.clock.now()
    outcome = world.switch(started.context.session, pixelfed.id)
    assert outcome.changed
    assert outcome.new_token is None
    assert outcome.session.active_platform_id == pixelfed.id
    assert outcome.session.version == started.context.session.version + 1
    assert world.resolve(str(started.token)).platform.id == pixelfed.id
    assert world.directory.get("alice", pixelfed.id).last_used_at == now
    [event] = world.events(PlatformSwitched)
    assert (event.from_platform_id, event.to_platform_id) == (mastodon.id, pixelfed.id)
    assert event.session_handle == started.context.handle


def test_the_session_change_runs_within_the_unit_of_work_that_stamps_the_platform(world):
    _, pixelfed = world.connect_two()
    started = world.start("alice")
    world.switch(started.context.session, pixelfed.id)
    [within] = world.sessions.within
    assert isinstance(within, InMemoryUnitOfWork)  # what a storage on a database would join


def test_retries_after_a_lost_race_run_within_the_same_unit_of_work(world):
    _, pixelfed = world.connect_two()
    started = world.start("alice")
    read = started.context.session

    def another_request_gets_there_first() -> None:
        world.sessions.before_update = None
        world.sessions.update(read, SessionChanges(attributes={"theme": "dark"}))

    world.sessions.before_update = another_request_gets_there_first
    assert world.switch(read, pixelfed.id).changed
    first, other_request, retry = world.sessions.within
    assert other_request is None
    assert first is retry
    assert first is not None


def test_switching_to_the_active_platform_changes_nothing(world):
    mastodon, _ = world.connect_two()
    started = world.start("alice")
    writes = world.sessions.writes()
    outcome = world.switch(started.context.session, mastodon.id)
    assert not outcome.changed
    assert world.sessions.writes() == writes
    assert world.events(PlatformSwitched) == []
    assert world.directory.get("alice", mastodon.id).last_used_at is None


def test_a_double_click_is_harmless(world):
    _, pixelfed = world.connect_two()
    started = world.start("alice")
    first = world.switch(started.context.session, pixelfed.id)
    second = world.switch(started.context.session, pixelfed.id)  # the same stale read, again
    assert first.changed
    assert not second.changed
    assert world.sessions.get(started.token.digest).version == started.context.session.version + 1


def test_switching_to_another_users_platform_is_not_found(world):
    world.connect_two()
    _, bobs = world.connect_two("bob")
    started = world.start("alice")
    with pytest.raises(PlatformNotFound):
        world.switch(started.context.session, bobs.id)
    assert "update" not in world.sessions.calls


def test_switching_to_an_unknown_platform_is_not_found(world):
    started = world.start("alice")
    with pytest.raises(PlatformNotFound):
        world.switch(started.context.session, "nope")


def test_switching_to_an_inactive_platform_is_refused(world):
    _, pixelfed = world.connect_two()
    world.deactivate("alice", pixelfed.id)
    started = world.start("alice")
    with pytest.raises(PlatformInactive):
        world.switch(started.context.session, pixelfed.id)


def test_a_concurrent_change_is_reread_and_retried_without_losing_it(world):
    _, pixelfed = world.connect_two()
    started = world.start("alice")
    read = started.context.session

    def another_request_sets_attributes() -> None:
        world.sessions.before_update = None
        world.sessions.update(read, SessionChanges(attributes={"theme": "dark"}))

    world.sessions.before_update = another_request_sets_attributes
    outcome = world.switch(read, pixelfed.id)
    stored = world.sessions.get(started.token.digest)
    assert outcome.changed
    assert stored.active_platform_id == pixelfed.id
    assert stored.attributes == {"theme": "dark"}  # the other writer's change survived
    assert stored.version == read.version + 2


def test_endless_conflicts_end_in_concurrent_update(world):
    _, pixelfed = world.connect_two()
    started = world.start("alice")

    def someone_always_gets_there_first() -> None:
        current = world.sessions.get(started.token.digest)
        hook, world.sessions.before_update = world.sessions.before_update, None
        world.sessions.update(current, SessionChanges(attributes={"n": current.version}))
        world.sessions.before_update = hook

    world.sessions.before_update = someone_always_gets_there_first
    with pytest.raises(ConcurrentUpdate):
        world.switch(started.context.session, pixelfed.id)
    assert world.events(PlatformSwitched) == []


def test_a_switch_of_an_ended_session_never_brings_it_back(world):
    _, pixelfed = world.connect_two()
    started = world.start("alice")
    world.end(started.context.session)
    with pytest.raises(SessionNotFound):
        world.switch(started.context.session, pixelfed.id)
    assert world.sessions.get(started.token.digest) is None


def test_the_policy_can_rotate_the_token_on_every_switch(world):
    _, pixelfed = world.connect_two()
    world.policy = attrs.evolve(world.policy, rotate_token_on_switch=True)
    started = world.start("alice")
    outcome = world.switch(started.context.session, pixelfed.id)
    assert outcome.new_token is not None
    with pytest.raises(SessionNotFound):
        world.resolve(str(started.token))
    assert world.resolve(str(outcome.new_token)).platform.id == pixelfed.id


# "Already active" is decided on the stored session, and the outcome carries that session.


def test_a_no_op_after_a_lost_race_reports_the_session_it_reread(world):
    _, pixelfed = world.connect_two()
    started = world.start("alice")
    stale = started.context.session
    first = world.switch(stale, pixelfed.id)  # another tab, say
    second = world.switch(stale, pixelfed.id)  # conflicts, re-reads: pixelfed is already active
    assert not second.changed
    assert second.session == world.sessions.get(started.token.digest) == first.session
    assert (second.session.version, second.session.active_platform_id) == (stale.version + 1, pixelfed.id)


def test_already_active_is_never_decided_on_the_callers_stale_copy(world):
    mastodon, pixelfed = world.connect_two()
    started = world.start("alice")
    stale = started.context.session  # on Mastodon
    away = world.switch(stale, pixelfed.id)  # acknowledged: the session is on Pixelfed now
    back = world.switch(stale, mastodon.id)  # the stale copy says Mastodon is active: it is not
    stored = world.sessions.get(started.token.digest)
    assert back.changed
    assert (stored.active_platform_id, stored.version) == (mastodon.id, away.session.version + 1)
    assert back.session == stored
    assert [(e.from_platform_id, e.to_platform_id) for e in world.events(PlatformSwitched)] == [
        (mastodon.id, pixelfed.id),
        (pixelfed.id, mastodon.id),
    ]


def test_a_no_op_decided_on_the_callers_copy_is_confirmed_by_one_read_and_no_write(world):
    mastodon, _ = world.connect_two()
    started = world.start("alice")
    writes, reads = world.sessions.writes(), world.sessions.calls.get("get", 0)
    outcome = world.switch(started.context.session, mastodon.id)
    assert not outcome.changed
    assert outcome.session == world.sessions.get(started.token.digest)
    assert world.sessions.writes() == writes
    assert world.sessions.calls["get"] == reads + 2  # the confirming read, and this test's own


def test_the_confirming_read_runs_within_the_switchs_unit_of_work(world):
    mastodon, _ = world.connect_two()
    started = world.start("alice")
    world.switch(started.context.session, mastodon.id)
    [within] = world.sessions.read_within
    assert isinstance(within, InMemoryUnitOfWork)  # a storage on a database reads its record there


def test_a_no_op_of_a_session_ended_meanwhile_is_not_found(world):
    mastodon, _ = world.connect_two()
    started = world.start("alice")
    world.end(started.context.session)
    with pytest.raises(SessionNotFound):
        world.switch(started.context.session, mastodon.id)


def test_already_active_is_judged_on_the_session_now_not_as_resolved(world):
    # Issue 12: a request resolved the session on mastodon; another request then switched it to
    # pixelfed (acknowledged). Switching back with the older read must not answer "already
    # active" and write nothing: the switch to pixelfed would be undone in silence.
    mastodon, pixelfed = world.connect_two()
    started = world.start("alice")
    resolved = started.context.session
    assert world.switch(resolved, pixelfed.id).changed
    outcome = world.switch(resolved, mastodon.id)
    assert outcome.changed
    assert world.sessions.get(resolved.token_digest).active_platform_id == mastodon.id
