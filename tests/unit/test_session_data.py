"""Session data values and changes (issue 15): validated once, measured one way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from platform_sessions.domain.errors import InvalidInput, InvalidSessionData, SessionDataTooLarge
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.routing import issue_anonymous_token, random_routing_tag
from platform_sessions.domain.session_data import SessionDataChanges, checked_data, data_size
from tests.builders import a_session, an_anonymous_session

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes",
    [
        {"set": {"": 1}},
        {"set": {"x" * 257: 1}},
        {"set": {"a\nb": 1}},
        {"set": {1: 1}},
        {"set": {"a": {1, 2}}},
        {"set": {"a": float("nan")}},
        {"set": {"a": "\ud800"}},
        {"delete": "abc"},
        {"delete": [""]},
        {"set": {"a": 1}, "delete": ["a"]},
        {"set": {"a": [[[[[[[[[[1]]]]]]]]]]}},
    ],
)
def test_malformed_changes_are_refused_at_construction(changes):
    with pytest.raises(InvalidSessionData):
        SessionDataChanges(**changes)


def test_a_value_over_the_value_limit_is_too_large():
    with pytest.raises(SessionDataTooLarge):
        SessionDataChanges.for_policy(10, set={"a": "x" * 9})
    assert SessionDataChanges.for_policy(10, set={"a": "x" * 8}).encoded == {"a": '"' + "x" * 8 + '"'}


def test_changes_hold_values_as_stores_return_them_and_merge_key_by_key():
    changes = SessionDataChanges({"t": (1, 2), "n": None}, {"gone"})
    assert changes.set == {"t": [1, 2], "n": None}
    assert not changes.is_empty
    assert SessionDataChanges().is_empty
    assert changes.applied_to({"gone": 1, "kept": 2, "n": 3}) == {"kept": 2, "t": [1, 2], "n": None}
    assert changes.is_reflected_in({"t": [1, 2], "n": None, "other": 1})
    assert not changes.is_reflected_in({"t": [1, 2], "n": None, "gone": 0})


def test_the_size_of_data_is_keys_plus_canonical_json():
    assert data_size({"a": "é", "bb": {"y": 1, "x": [1, 2]}}) == 1 + 4 + 2 + len('{"x":[1,2],"y":1}')
    with pytest.raises(SessionDataTooLarge):
        checked_data({"a": "xx"}, max_bytes=4)
    assert checked_data({"a": "x"}, max_bytes=4) == {"a": "x"}


def test_a_session_starts_with_data_a_lifetime_and_a_cookie_choice():
    policy = SessionPolicy()
    session = a_session(
        now=NOW, policy=policy, data={"a": 1}, lifetime=timedelta(hours=1), persistent_cookie=False
    )
    assert (session.data, session.persistent_cookie) == ({"a": 1}, False)
    assert session.absolute_expires_at == NOW + timedelta(hours=1)
    written = session.with_data(SessionDataChanges({"b": 2}, {"a"}))
    assert (written.data, written.version) == ({"b": 2}, session.version + 1)
    with pytest.raises(TypeError):
        written.data["c"] = 3  # type: ignore[index]
    with pytest.raises(InvalidInput):
        a_session(now=NOW, policy=policy, lifetime=policy.absolute_lifetime + timedelta(seconds=1))


def test_anonymous_sessions_use_the_anonymous_deadlines():
    policy = SessionPolicy()
    assert (policy.anonymous_idle_timeout, policy.anonymous_lifetime) == (
        timedelta(hours=1),
        timedelta(days=1),
    )
    assert (policy.max_data_bytes, policy.max_data_value_bytes) == (64 * 1024, 16 * 1024)
    visitor = an_anonymous_session(now=NOW, policy=policy)
    assert visitor.is_anonymous
    assert visitor.absolute_expires_at == NOW + policy.anonymous_lifetime
    assert visitor.idle_expires_at(policy) == NOW + policy.anonymous_idle_timeout
    assert a_session(now=NOW, policy=policy).idle_expires_at(policy) == NOW + policy.idle_timeout


def test_a_policy_with_a_long_touch_interval_keeps_a_usable_anonymous_timeout():
    policy = SessionPolicy(idle_timeout=timedelta(hours=3), touch_interval=timedelta(hours=1))
    assert policy.anonymous_idle_timeout == timedelta(hours=3)
    with pytest.raises(InvalidInput):
        SessionPolicy(anonymous_idle_timeout=timedelta(seconds=30))
    with pytest.raises(InvalidInput):
        SessionPolicy(max_data_value_bytes=2, max_data_bytes=1)


def test_anonymous_tokens_carry_a_random_tag():
    tags = {random_routing_tag().value for _ in range(20)}
    assert len(tags) == 20
    assert issue_anonymous_token().routing_tag != issue_anonymous_token().routing_tag
