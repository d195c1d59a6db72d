"""The handle's session data, directly: anonymous sessions started by the first write, carried
into a login, ended by a logout; compare-and-set; writes once the response started; cookies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platform_sessions.domain.errors import ConcurrentUpdate, SessionNotFound
from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web import SessionHandle
from platform_sessions.entrypoints.web.framework_session import data_changes, editable_copy, write_changes
from platform_sessions.entrypoints.web.handle import ClearCookie, ResponseAlreadyStarted, SetCookie


def visitor(sessions: PlatformSessions) -> SessionHandle:
    """A request of a visitor with no session yet."""
    return SessionHandle(sessions, None, user_agent="pytest", ip_address="127.0.0.1")


def request_of(sessions: PlatformSessions, token: str) -> SessionHandle:
    """A request carrying ``token`` in its cookie, resolved as the middleware does."""
    return SessionHandle(sessions, sessions.resolve(token))


def cookie_token(handle: SessionHandle) -> str:
    change = handle.cookie_change
    assert isinstance(change, SetCookie)
    return change.token


def test_without_a_session_reads_are_empty_and_an_empty_write_creates_nothing(
    sessions: PlatformSessions,
) -> None:
    handle = visitor(sessions)
    assert (dict(handle.data), handle.csrf_token, handle.session, handle.context) == ({}, None, None, None)
    assert handle.write_data(set={}, delete=["x"]) is None
    assert handle.cookie_change is None
    assert not handle.is_authenticated


def test_the_first_write_starts_an_anonymous_session_with_a_cookie_but_no_context(
    sessions: PlatformSessions,
) -> None:
    handle = visitor(sessions)
    stored = handle.write_data(set={"cart": ["book"]})
    assert stored is not None
    assert stored.is_anonymous
    assert handle.context is None  # "not logged in" checks are unchanged
    assert not handle.is_authenticated
    assert handle.data == {"cart": ["book"]}
    assert handle.csrf_token == stored.csrf_token
    change = handle.cookie_change
    assert isinstance(change, SetCookie)
    assert change.max_age == int(sessions.policy.anonymous_lifetime.total_seconds())
    again = request_of(sessions, change.token)  # the next request
    assert again.context is None
    assert again.data == {"cart": ["book"]}


def test_a_login_carries_the_visitors_data_under_a_new_token_and_ends_the_visitors_session(
    sessions: PlatformSessions,
) -> None:
    first = visitor(sessions)
    first.write_data(set={"next": "/settings"})
    anonymous = cookie_token(first)
    login = request_of(sessions, anonymous)
    login.write_data(set={"theme": "dark"})  # written earlier in the login request
    context = login.start("alice")
    assert context.user_id == "alice"
    assert login.data == {"next": "/settings", "theme": "dark"}
    assert cookie_token(login) != anonymous
    with pytest.raises(SessionNotFound):
        sessions.resolve(anonymous)
    assert sessions.resolve(cookie_token(login)).session.data == {"next": "/settings", "theme": "dark"}


def test_a_login_over_another_users_session_does_not_carry_its_data(sessions: PlatformSessions) -> None:
    token = str(sessions.start_session("bob").token)
    handle = request_of(sessions, token)
    handle.write_data(set={"bobs": "secret"})
    handle.start("alice")
    assert handle.data == {}
    with pytest.raises(SessionNotFound):
        sessions.resolve(token)


def test_a_logout_ends_a_visitors_session_too(sessions: PlatformSessions) -> None:
    first = visitor(sessions)
    first.write_data(set={"cart": ["book"]})
    token = cookie_token(first)
    handle = request_of(sessions, token)
    assert handle.end() is False  # nobody was logged in
    assert handle.cookie_change == ClearCookie()
    with pytest.raises(SessionNotFound):
        sessions.resolve(token)


def test_expected_version_makes_a_write_a_compare_and_set(sessions: PlatformSessions) -> None:
    token = str(sessions.start_session("alice").token)
    handle = request_of(sessions, token)
    read_version = handle.session.version if handle.session else 0
    request_of(sessions, token).write_data(set={"counter": 1})  # another request, meanwhile
    with pytest.raises(ConcurrentUpdate):
        handle.write_data(set={"counter": 1}, expected_version=read_version)
    written = handle.write_data(set={"counter": 2}, expected_version=read_version + 1)
    assert written is not None
    assert written.data == {"counter": 2}
    assert handle.data == {"counter": 2}


def test_once_the_response_started_data_still_goes_to_a_session_but_none_is_started(
    sessions: PlatformSessions,
) -> None:
    token = str(sessions.start_session("alice").token)
    handle = request_of(sessions, token)
    handle.seal()
    handle.write_data(set={"late": True})  # no cookie needed: allowed
    assert sessions.resolve(token).session.data == {"late": True}
    late_visitor = visitor(sessions)
    late_visitor.seal()
    with pytest.raises(ResponseAlreadyStarted):
        late_visitor.write_data(set={"too": "late"})


def test_a_browser_session_login_has_a_cookie_without_max_age_through_rotations(
    sessions: PlatformSessions,
) -> None:
    handle = visitor(sessions)
    handle.start("alice", persistent_cookie=False, lifetime=timedelta(hours=1))
    change = handle.cookie_change
    assert isinstance(change, SetCookie)
    assert change.max_age is None
    assert not handle.persistent_cookie
    handle.rotate()
    rotated = handle.cookie_change
    assert isinstance(rotated, SetCookie)
    assert rotated.max_age is None
    assert rotated.token != change.token


def test_remember_me_is_the_logins_own_lifetime(sessions: PlatformSessions) -> None:
    handle = visitor(sessions)
    handle.start("alice", lifetime=timedelta(hours=5))
    change = handle.cookie_change
    assert isinstance(change, SetCookie)
    assert change.max_age == 5 * 3600


def test_a_frameworks_changes_to_a_session_ended_meanwhile_are_dropped_not_resurrected(
    sessions: PlatformSessions, caplog: pytest.LogCaptureFixture
) -> None:
    token = str(sessions.start_session("alice").token)
    handle = request_of(sessions, token)
    sessions.end_session(token)  # another tab logged out while this request ran
    with caplog.at_level("INFO"):
        write_changes(handle, {"cart": ["book"]}, frozenset())
    assert "dropped" in caplog.text
    assert handle.cookie_change is None  # no new session, no cookie
    with pytest.raises(SessionNotFound):
        sessions.resolve(token)


def test_a_frameworks_changes_compare_by_value_and_come_back_as_json() -> None:
    read = editable_copy({"cart": ["book"], "n": 1, "gone": True})
    now = editable_copy(read)
    now["cart"].append("pen")  # changed in place
    now["pair"] = ("info", "saved")  # a tuple, as Flask's flash stores it
    del now["gone"]
    changed, removed = data_changes(read, now)
    assert changed == {"cart": ["book", "pen"], "pair": ["info", "saved"]}
    assert removed == {"gone"}
    assert read["cart"] == ["book"]  # the copies share nothing
    assert data_changes(read, editable_copy(read)) == ({}, frozenset())
