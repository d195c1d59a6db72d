from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from platform_sessions.domain.attributes import checked_attributes
from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.errors import ExpiryReason, InvalidAttributes, InvalidInput, SessionExpired
from platform_sessions.domain.platform import checked_instance_url
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.session import SessionChanges
from tests.builders import a_session

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_default_policy_is_the_documented_one():
    policy = SessionPolicy()
    assert policy.idle_timeout == timedelta(hours=2)
    assert policy.absolute_lifetime == timedelta(days=7)
    assert policy.touch_interval == timedelta(seconds=60)
    assert policy.max_sessions_per_user == 20
    assert policy.rotate_token_on_switch is False


@pytest.mark.parametrize(
    "fields",
    [
        {"idle_timeout": timedelta(0)},
        {"touch_interval": timedelta(hours=3)},
        {"idle_timeout": timedelta(days=8)},
        {"max_sessions_per_user": 0},
    ],
)
def test_an_inconsistent_policy_is_refused(fields):
    with pytest.raises(InvalidInput):
        SessionPolicy(**fields)


def test_expiry_is_idle_or_absolute_and_absolute_wins_a_tie():
    policy = SessionPolicy()
    session = a_session(now=NOW, policy=policy)
    assert session.expiry_reason(NOW + timedelta(hours=1), policy) is None
    assert session.expiry_reason(NOW + policy.idle_timeout, policy) is ExpiryReason.IDLE
    assert session.expiry_reason(NOW + policy.absolute_lifetime, policy) is ExpiryReason.ABSOLUTE
    assert session.remaining(NOW, policy) == policy.idle_timeout
    assert session.remaining(NOW + timedelta(days=30), policy) == timedelta(0)
    assert "idle" in str(SessionExpired(ExpiryReason.IDLE))


def test_changes_bump_the_version_and_leave_the_rest():
    policy = SessionPolicy()
    session = a_session(now=NOW, policy=policy, active_platform_id="p1", attributes={"a": 1})
    changed = session.apply(SessionChanges(active_platform_id=None))
    assert (changed.active_platform_id, changed.attributes, changed.version) == (None, {"a": 1}, 2)
    assert SessionChanges().is_empty
    assert not SessionChanges(active_platform_id=None).is_empty
    with pytest.raises(InvalidAttributes):
        SessionChanges(attributes={"x": {1, 2}})


def test_a_touch_never_goes_backwards():
    policy = SessionPolicy()
    session = a_session(now=NOW, policy=policy)
    assert session.touched(NOW - timedelta(minutes=1)).last_seen_at == NOW


def test_session_attributes_are_read_only():
    session = a_session(now=NOW, policy=SessionPolicy(), attributes={"a": 1})
    with pytest.raises(TypeError):
        session.attributes["a"] = 2  # type: ignore[index]


def test_attributes_are_json_safe_and_capped():
    assert checked_attributes({"a": [1, 2.5, None, True, {"b": "ü"}]}) == {
        "a": [1, 2.5, None, True, {"b": "ü"}]
    }
    assert checked_attributes(None) == {}
    nested: dict = {}
    cursor = nested
    for _ in range(10):
        cursor["n"] = {}
        cursor = cursor["n"]
    for bad in ({"x": b"bytes"}, {"x": float("inf")}, {"x": "y" * 5000}, nested, "text"):
        with pytest.raises(InvalidAttributes):
            checked_attributes(bad)


def test_attributes_read_back_from_a_session_can_be_written_again():
    session = a_session(now=NOW, policy=SessionPolicy(), attributes={"a": {"b": [1, 2]}})
    assert SessionChanges(attributes=session.attributes).attributes == {"a": {"b": [1, 2]}}
    assert checked_attributes(session.attributes) == {"a": {"b": [1, 2]}}


def test_client_metadata_is_clipped_and_printable():
    client = ClientInfo(user_agent="Agent\x00\n" + "x" * 1000, ip_address=None)  # type: ignore[arg-type]
    assert client.user_agent.startswith("Agent")
    assert "\x00" not in client.user_agent
    assert len(client.user_agent) == 512
    assert client.ip_address == ""


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("https://Mastodon.Social/", "https://mastodon.social"),
        ("http://localhost:3000/path/", "http://localhost:3000/path"),
    ],
)
def test_instance_urls_are_normalised(raw, normalised):
    assert checked_instance_url(raw) == normalised
