"""``flask.session`` and Starlette's ``request.session`` on this library, through each
framework's own test client: the same expectations for both (``session_data_apps.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.entrypoints import PlatformSessions
from tests.web.browsers import FRAMEWORKS, Browser, browser, flashed_messages
from tests.web.support import Alice, SetCookie

pytestmark = pytest.mark.parametrize("framework", FRAMEWORKS)


@pytest.fixture
def writes(sessions: PlatformSessions, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every data write the facade is asked for, as its keyword arguments."""
    calls: list[dict[str, Any]] = []
    original: Callable[..., Any] = sessions.write_session_data

    def counting(current: Any, **options: Any) -> Any:
        calls.append(options)
        return original(current, **options)

    monkeypatch.setattr(sessions, "write_session_data", counting)
    return calls


def login(client: Browser, user: str = "alice") -> str:
    client.refresh_csrf()  # the visitor's token, if it has a session already
    answer = client.post("/login", {"username": user})
    assert answer.status == 200, answer.json
    client.csrf_token = answer.json["csrf_token"]
    return str(client.token)


def test_data_written_in_one_request_is_read_in_the_next(
    framework: str, sessions: PlatformSessions, alice: Alice
) -> None:
    client = browser(framework, sessions)
    login(client)
    assert client.post("/data", {"colour": "teal", "size": "m"}).status == 200
    assert client.get("/data").json["data"] == {"colour": "teal", "size": "m"}
    client.post("/data/delete", {"key": "size"})
    assert client.get("/data").json["data"] == {"colour": "teal"}
    context = sessions.resolve(client.token)
    assert context.session.data == {"colour": "teal"}  # in the store, not in a cookie


def test_flash_messages_are_consumed_once(framework: str, sessions: PlatformSessions, alice: Alice) -> None:
    client = browser(framework, sessions)
    login(client)
    client.post("/flash", {"message": "saved"})
    client.post("/flash", {"message": "and again"})
    assert flashed_messages(client.get("/flashes")) == ["saved", "and again"]
    assert flashed_messages(client.get("/flashes")) == []
    assert "_flashes" not in sessions.resolve(client.token).session.data


def test_a_visitors_first_write_starts_an_anonymous_session_with_its_own_cookie(
    framework: str, sessions: PlatformSessions
) -> None:
    client = browser(framework, sessions)
    answer = client.post("/data", {"theme": "dark"})
    assert answer.status == 200
    assert answer.set_cookie is not None
    assert SetCookie.parse(answer.set_cookie).value == client.token
    context = sessions.resolve(client.token)
    assert context.session.is_anonymous
    assert client.get("/data").json["data"] == {"theme": "dark"}
    assert client.refresh_csrf() == context.csrf_token  # templates render the visitor's token


def test_an_anonymous_value_survives_login_under_a_new_token_and_the_old_token_is_dead(
    framework: str, sessions: PlatformSessions, alice: Alice
) -> None:
    client = browser(framework, sessions)
    client.post("/data", {"next": "/settings"})
    anonymous = str(client.token)
    logged_in = login(client)
    assert logged_in != anonymous
    assert client.get("/data").json["data"] == {"next": "/settings"}
    context = sessions.resolve(logged_in)
    assert (context.user_id, context.session.data) == ("alice", {"next": "/settings"})
    with pytest.raises(SessionNotFound):
        sessions.resolve(anonymous)
    client.use_token(anonymous)  # a copy of the old cookie is worth nothing
    answer = client.get("/data")
    assert answer.json["data"] == {}
    assert answer.set_cookie is not None
    assert SetCookie.parse(answer.set_cookie).attributes["max-age"] == "0"


def test_a_visitor_who_only_reads_gets_no_session_and_no_cookie(
    framework: str, sessions: PlatformSessions, writes: list[dict[str, Any]]
) -> None:
    client = browser(framework, sessions)
    for path in ("/data", "/flashes", "/csrf"):
        answer = client.get(path)
        assert answer.status == 200
        assert answer.set_cookie is None
    assert client.post("/data/delete", {"key": "nothing"}).set_cookie is None  # nothing to remove
    assert client.token is None
    assert writes == []


def test_an_unchanged_request_writes_nothing_and_a_change_writes_only_its_key(
    framework: str, sessions: PlatformSessions, alice: Alice, writes: list[dict[str, Any]]
) -> None:
    client = browser(framework, sessions)
    login(client)
    client.post("/data", {"a": "1", "b": "2"})
    assert len(writes) == 1
    client.get("/data")
    client.post("/data", {"a": "1"})  # the same value again
    assert len(writes) == 1
    client.post("/data", {"b": "3"})
    assert writes[-1]["set"] == {"b": "3"}
    assert not writes[-1]["delete"]


def test_a_flash_after_logout_is_shown_on_the_next_page_and_the_data_is_gone(
    framework: str, sessions: PlatformSessions, alice: Alice
) -> None:
    client = browser(framework, sessions)
    old = login(client)
    client.post("/data", {"cart": "3 items"})
    assert client.post("/logout").json == {"ended": True}
    with pytest.raises(SessionNotFound):
        sessions.resolve(old)
    assert client.token is not None  # a visitor's session, holding the flash
    assert sessions.resolve(client.token).session.data.keys() <= {"_flashes", "_messages"}
    assert flashed_messages(client.get("/flashes")) == ["logged out"]
    assert client.get("/data").json["data"] == {}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-Fetch-Site": "same-origin"}, 200),  # the browser vouches for the page
        ({"Origin": "https://app.example"}, 200),
        ({}, 403),  # neither the token nor a header that vouches
        ({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403),
    ],
)
def test_an_anonymous_session_needs_its_token_or_a_same_origin_browser(
    framework: str, sessions: PlatformSessions, headers: dict[str, str], status: int
) -> None:
    client = browser(framework, sessions)
    client.post("/data", {"step": "1"})
    assert client.post("/data", {"step": "2"}, headers=headers).status == status
    token = str(client.refresh_csrf())
    assert client.post("/data", {"step": "3"}, headers={"X-CSRF-Token": token}).status == 200
    cross_site = {"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"}
    assert client.post("/data", {"step": "4"}, headers=cross_site).status == 403


def test_a_logged_in_session_still_needs_its_token_whatever_the_browser_says(
    framework: str, sessions: PlatformSessions, alice: Alice
) -> None:
    client = browser(framework, sessions)
    login(client)
    assert client.post("/data", {"a": "1"}, headers={"Sec-Fetch-Site": "same-origin"}).status == 403
    assert client.post("/data", {"a": "1"}).status == 200  # with the token
