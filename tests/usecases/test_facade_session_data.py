"""The facade's session data methods, wired by bootstrap() on the memory storage."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platform_sessions.domain.errors import SessionDataTooLarge, SessionNotFound
from platform_sessions.entrypoints.bootstrap import bootstrap


@pytest.fixture
def sessions():
    with bootstrap(storage="memory") as facade:
        yield facade


def test_a_visitor_writes_logs_in_and_keeps_the_data(sessions):
    visitor = sessions.start_anonymous_session({"next": "/cart"}, user_agent="pytest")
    written = sessions.write_session_data(str(visitor.token), set={"cart": [1]}, delete=["next"])
    assert written.data == {"cart": [1]}

    started = sessions.start_session(
        "alice", carry_from=visitor.context, lifetime=timedelta(hours=1), persistent_cookie=False
    )

    context = sessions.resolve(str(started.token))
    assert (context.user_id, context.data, context.session.persistent_cookie) == (
        "alice",
        {"cart": [1]},
        False,
    )
    with pytest.raises(SessionNotFound):
        sessions.resolve(str(visitor.token))


def test_a_value_over_the_policys_limit_is_refused(sessions):
    started = sessions.start_session("alice")
    with pytest.raises(SessionDataTooLarge):
        sessions.write_session_data(started.context, set={"big": "x" * sessions.policy.max_data_value_bytes})


def test_a_compare_and_set_through_the_facade(sessions):
    started = sessions.start_session("alice")
    version = started.context.session.version
    sessions.write_session_data(started.context, set={"n": 1}, expected_version=version)
    assert sessions.resolve(str(started.token)).session.version == version + 1
