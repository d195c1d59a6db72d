"""After CommitOutcomeUnknown, the use cases find out and finish the change exactly once.

The fakes never lose a commit, so a wrapper makes one method raise ``CommitOutcomeUnknown``
once, either after applying the change ("landed": the reply was lost) or without applying it
("lost": the COMMIT never arrived). The real-server versions of these (a TCP proxy dropping
PostgreSQL's reply to COMMIT) are in tests/sql/test_lost_commit_acknowledgement.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest

from platform_sessions.adapters.memory import InMemoryUnitOfWork
from platform_sessions.domain.errors import CommitOutcomeUnknown, StoreUnavailable
from platform_sessions.domain.events import PlatformSwitched, SessionEnded, SessionRotated, SessionStarted
from tests.usecases.world import RecordingSessions, World

MODES = ("landed", "lost")


def lose_once(sessions: RecordingSessions, method: str, mode: str) -> list[str]:
    """Make ``sessions.<method>`` raise CommitOutcomeUnknown on its next call, after applying
    the change (``landed``) or without (``lost``). Returns the log of what happened."""
    original: Callable[..., Any] = getattr(sessions, method)
    happened: list[str] = []

    def losing(*args: Any, **kwargs: Any) -> Any:
        if not happened:
            happened.append(mode)
            if mode == "landed":
                original(*args, **kwargs)
            raise CommitOutcomeUnknown("the reply to COMMIT was lost", settled=True)
        happened.append("again")
        return original(*args, **kwargs)

    setattr(sessions, method, losing)
    return happened


@pytest.mark.parametrize("mode", MODES)
def test_rotate_returns_the_new_token_whether_or_not_the_lost_commit_landed(world: World, mode: str):
    started = world.start("alice")
    happened = lose_once(world.sessions, "rotate", mode)

    rotated = world.rotate(started.context.session)

    assert happened == ([mode] if mode == "landed" else [mode, "again"])
    assert world.resolve(str(rotated.token)).session.version == started.context.session.version + 1
    assert len(world.events(SessionRotated)) == 1


@pytest.mark.parametrize("mode", MODES)
def test_start_stores_the_session_once(world: World, mode: str):
    happened = lose_once(world.sessions, "create", mode)

    started = world.start("alice")

    assert happened == ([mode] if mode == "landed" else [mode, "again"])
    assert world.resolve(str(started.token)).session.session_id == started.context.session.session_id
    assert len(world.list_sessions("alice")) == 1
    assert len(world.events(SessionStarted)) == 1


@pytest.mark.parametrize("mode", MODES)
def test_end_ends_the_session_and_says_so(world: World, mode: str):
    started = world.start("alice")
    lose_once(world.sessions, "delete", mode)

    assert world.end(started.context.session) is True

    assert world.list_sessions("alice") == []
    assert len(world.events(SessionEnded)) == 1


@pytest.mark.parametrize("mode", MODES)
def test_switch_is_made_once_when_its_update_is_lost(world: World, mode: str):
    mastodon, pixelfed = world.connect_two()
    started = world.start("alice", platform_id=mastodon.id)
    lose_once(world.sessions, "update", mode)

    outcome = world.switch(started.context.session, pixelfed.id)

    assert outcome.changed
    assert world.resolve(str(started.token)).session.version == started.context.session.version + 1
    assert world.resolve(str(started.token)).platform_id == pixelfed.id
    assert len(world.events(PlatformSwitched)) == 1


class LosingUnitOfWork(InMemoryUnitOfWork):
    """Commits, then says the outcome is unknown (the reply was lost)."""

    def _commit(self) -> None:
        super()._commit()
        raise CommitOutcomeUnknown("the reply to COMMIT was lost", settled=True)


def test_switch_whose_unit_of_work_commit_reply_is_lost_reports_the_switch(world: World):
    mastodon, pixelfed = world.connect_two()
    started = world.start("alice", platform_id=mastodon.id)
    units = iter([LosingUnitOfWork(world.store)])
    switch = attrs.evolve(
        world.switch, uow_factory=lambda: next(units, None) or InMemoryUnitOfWork(world.store)
    )

    outcome = switch(started.context.session, pixelfed.id)

    assert outcome.changed
    assert outcome.session.active_platform_id == pixelfed.id
    assert world.resolve(str(started.token)).session.version == started.context.session.version + 1


def test_when_the_store_cannot_be_asked_the_outcome_stays_unknown(world: World, monkeypatch):
    started = world.start("alice")
    lose_once(world.sessions, "rotate", "landed")

    def unreachable(_digest: object) -> None:
        raise StoreUnavailable("down")

    monkeypatch.setattr(world.sessions, "get", unreachable)
    with pytest.raises(CommitOutcomeUnknown):
        world.rotate(started.context.session)
