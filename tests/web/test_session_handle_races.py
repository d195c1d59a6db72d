"""The per-request handle when another request changed the session after this one resolved it:
its context follows what is stored, and a logout still ends the session."""

from __future__ import annotations

import pytest

from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.entrypoints import bootstrap
from platform_sessions.entrypoints.web import SessionHandle
from platform_sessions.entrypoints.web.handle import ClearCookie


@pytest.fixture
def sessions():  # type: ignore[no-untyped-def]
    facade = bootstrap(storage="memory")
    yield facade
    facade.close()


def _two_platforms(sessions) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    for name in ("Mastodon", "Pixelfed"):
        sessions.connect_platform(
            "alice",
            name=name,
            platform_type=name.lower(),
            instance_url=f"https://{name}.example",
            username="a",
        )
    first, second = sessions.list_platforms("alice")
    return first.id, second.id


def test_a_switch_another_request_made_first_shows_in_this_requests_context(sessions):
    home, other = _two_platforms(sessions)
    token = str(sessions.start_session("alice").token)
    handle = SessionHandle(sessions, sessions.resolve(token))  # this request's read
    sessions.switch_platform(token, other)  # another tab, meanwhile
    outcome = handle.switch_platform(other)
    stored = sessions.resolve(token).session
    assert not outcome.changed
    assert outcome.session.version == stored.version
    assert outcome.session.active_platform_id == other  # what the README's Flask example shows
    assert handle.context is not None
    assert (handle.context.platform_id, handle.context.session.version) == (other, stored.version)
    assert home != other


def test_a_logout_after_another_request_rotated_the_token_ends_the_session(sessions):
    token = str(sessions.start_session("alice").token)
    handle = SessionHandle(sessions, sessions.resolve(token))
    rotated = str(sessions.rotate(token).token)  # another request, meanwhile
    assert handle.end() is True
    assert handle.cookie_change == ClearCookie()
    for old_or_new in (token, rotated):
        with pytest.raises(SessionNotFound):
            sessions.resolve(old_or_new)
