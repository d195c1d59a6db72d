"""The demo web application through werkzeug's test client (no server, no browser)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from werkzeug.test import Client

from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.domain.events import DomainEvent
from platform_sessions.domain.ports import EventPublisher
from platform_sessions.entrypoints import PlatformSessions, bootstrap
from platform_sessions.entrypoints.web.demo import DemoSite, build_demo_site
from platform_sessions.entrypoints.web.demo.passwords import hash_password, verify_password
from tests.web.demo_support import BASE, DEMO_COOKIE, csrf_of, logged_in_client, password_of
from tests.web.support import SetCookie

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}  # what a browser sends with a form of the page


@pytest.fixture
def site(sessions: PlatformSessions) -> Iterator[DemoSite]:
    demo = build_demo_site(sessions)
    yield demo
    demo.close()


def platform_id(client: Client, name: str) -> str:
    state = client.get("/api/state", base_url=BASE).get_json()
    return next(p["id"] for p in state["platforms"] if p["name"] == name)


def test_passwords_are_random_per_run_and_kept_only_as_scrypt_hashes(sessions: PlatformSessions) -> None:
    first, second = build_demo_site(sessions), build_demo_site(sessions)  # seeding twice is harmless
    assert password_of(first, "alice") != password_of(second, "alice")
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horse!", stored)
    assert b"correct horse" not in stored.digest + stored.salt
    assert len(sessions.list_platforms("alice")) == 4


def test_anonymous_visitors_are_sent_to_the_login_form(site: DemoSite) -> None:
    client = Client(site.app)
    response = client.get("/", base_url=BASE)
    assert (response.status_code, response.headers["Location"]) == (303, "/login")
    assert 'action="/login"' in client.get("/login", base_url=BASE).get_data(as_text=True)
    assert client.get("/api/state", base_url=BASE).status_code == 401
    assert client.get("/events", base_url=BASE).status_code == 401


def test_a_wrong_password_is_refused_without_a_cookie(site: DemoSite) -> None:
    client = Client(site.app)
    response = client.post("/login", data={"username": "alice", "password": "guess"}, base_url=BASE)
    assert response.status_code == 401
    assert "Wrong user or password" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    unknown = client.post("/login", data={"username": "mallory", "password": "x"}, base_url=BASE)
    assert unknown.status_code == 401


def test_login_sets_a_plain_http_cookie_and_shows_the_platforms(site: DemoSite) -> None:
    client = Client(site.app)
    response = client.post(
        "/login", data={"username": "alice", "password": password_of(site, "alice")}, base_url=BASE
    )
    cookie = SetCookie.parse(response.headers["Set-Cookie"])
    assert cookie.name == DEMO_COOKIE
    assert "secure" not in cookie.attributes  # the demo is served over plain HTTP on 127.0.0.1
    assert cookie.attributes["httponly"] == ""
    state = client.get("/api/state", base_url=BASE).get_json()
    assert state["user"] == {"id": "alice", "name": "Alice"}
    assert [p["name"] for p in state["platforms"] if p["is_default"]] == ["Mastodon"]
    assert state["tab"] == {
        "platform_id": state["session"]["active_platform_id"],
        "is_override": False,
        "fell_back": False,
    }


def test_switching_needs_the_csrf_token_and_then_changes_the_session(site: DemoSite) -> None:
    client = logged_in_client(site)
    pixelfed = platform_id(client, "Pixelfed")
    body = {"json": {"platform_id": pixelfed}, "base_url": BASE}
    assert client.post("/api/switch", **body).status_code == 403
    switched = client.post("/api/switch", headers={"X-CSRF-Token": csrf_of(client)}, **body)
    assert switched.get_json() == {"changed": True, "active_platform_id": pixelfed}
    assert client.get("/api/state", base_url=BASE).get_json()["session"]["active_platform_id"] == pixelfed
    retired = client.post(
        "/api/switch",
        json={"platform_id": platform_id(client, "Old Friendica")},
        headers={"X-CSRF-Token": csrf_of(client)},
        base_url=BASE,
    )
    assert retired.status_code == 403


def test_a_tab_with_an_override_works_on_another_platform(site: DemoSite) -> None:
    client = logged_in_client(site)
    work = platform_id(client, "Work Mastodon")
    state = client.get("/api/state", headers={"X-Platform-Id": work}, base_url=BASE).get_json()
    assert state["tab"] == {"platform_id": work, "is_override": True, "fell_back": False}
    assert state["session"]["active_platform_id"] != work  # never stored


def test_the_sessions_page_lists_devices_and_ends_one_or_all_others(site: DemoSite) -> None:
    laptop = logged_in_client(site, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    phone = logged_in_client(site, user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1")
    tablet = logged_in_client(site, user_agent="Mozilla/5.0 (iPad) Safari/604.1")
    page = laptop.get("/sessions", base_url=BASE).get_data(as_text=True)
    assert "Firefox on Linux" in page
    assert "Safari on iOS" in page
    assert "this browser" in page
    assert "End all other sessions (2)" in page

    phone_handle = phone.get("/api/state", base_url=BASE).get_json()["session"]["handle"]
    revoked = laptop.post(
        "/sessions/end", data={"handle": phone_handle, "csrf_token": csrf_of(laptop)}, base_url=BASE
    )
    assert revoked.headers["Location"] == "/sessions"
    assert phone.get("/api/state", base_url=BASE).status_code == 401

    ended = laptop.post("/sessions/end-others", data={"csrf_token": csrf_of(laptop)}, base_url=BASE)
    assert ended.headers["Location"] == "/sessions?ended=1"
    assert tablet.get("/api/state", base_url=BASE).status_code == 401
    assert laptop.get("/api/state", base_url=BASE).status_code == 200
    assert "Ended 1 other session." in laptop.get("/sessions?ended=1", base_url=BASE).get_data(as_text=True)


def test_ending_this_session_from_the_list_is_a_logout(site: DemoSite) -> None:
    client = logged_in_client(site)
    handle = client.get("/api/state", base_url=BASE).get_json()["session"]["handle"]
    response = client.post(
        "/sessions/end", data={"handle": handle, "csrf_token": csrf_of(client)}, base_url=BASE
    )
    assert response.headers["Location"] == "/login?reason=logout"
    assert SetCookie.parse(response.headers["Set-Cookie"]).attributes["max-age"] == "0"


def test_logout_needs_the_token_and_clears_the_cookie(site: DemoSite) -> None:
    client = logged_in_client(site)
    assert client.post("/logout", base_url=BASE).status_code == 403
    response = client.post("/logout", data={"csrf_token": csrf_of(client)}, base_url=BASE)
    assert response.headers["Location"] == "/login?reason=logout"
    assert client.get_cookie(DEMO_COOKIE, domain="127.0.0.1") is None


def test_a_switch_leaves_a_flash_message_that_the_next_state_read_shows_once(site: DemoSite) -> None:
    client = logged_in_client(site)
    assert client.get("/api/state", base_url=BASE).get_json()["flash"] is None
    pixelfed = platform_id(client, "Pixelfed")
    switched = client.post(
        "/api/switch",
        json={"platform_id": pixelfed},
        headers={"X-CSRF-Token": csrf_of(client)},
        base_url=BASE,
    )
    assert switched.status_code == 200
    assert client.get("/api/state", base_url=BASE).get_json()["flash"] == "Switched to Pixelfed."
    assert client.get("/api/state", base_url=BASE).get_json()["flash"] is None


def test_a_visitors_theme_and_next_page_are_kept_through_the_login(
    site: DemoSite, sessions: PlatformSessions
) -> None:
    client = Client(site.app)
    assert 'data-theme="light"' in client.get("/login", base_url=BASE).get_data(as_text=True)
    assert client.get_cookie(DEMO_COOKIE, domain="127.0.0.1") is None  # reading created nothing
    chosen = client.post("/preferences", data={"theme": "dark"}, headers=SAME_ORIGIN, base_url=BASE)
    assert chosen.headers["Location"] == "/login"
    assert client.get("/sessions", base_url=BASE).headers["Location"] == "/login"
    visitor = client.get_cookie(DEMO_COOKIE, domain="127.0.0.1")
    assert visitor is not None  # the first write started the visitor's session
    assert 'data-theme="dark"' in client.get("/login", base_url=BASE).get_data(as_text=True)

    response = client.post(
        "/login", data={"username": "alice", "password": password_of(site, "alice")}, base_url=BASE
    )
    assert response.headers["Location"] == "/sessions"  # where the visitor was going
    logged_in = client.get_cookie(DEMO_COOKIE, domain="127.0.0.1")
    assert logged_in is not None
    assert logged_in.value != visitor.value
    page = client.get("/sessions", base_url=BASE).get_data(as_text=True)
    assert 'data-theme="dark"' in page
    with pytest.raises(SessionNotFound):
        sessions.resolve(visitor.value)
    assert dict(sessions.resolve(logged_in.value).session.data) == {"theme": "dark"}


def test_a_theme_is_per_session_and_checked(site: DemoSite) -> None:
    laptop, phone = logged_in_client(site), logged_in_client(site)
    assert (
        laptop.post(
            "/preferences", data={"theme": "dark", "csrf_token": csrf_of(laptop)}, base_url=BASE
        ).headers["Location"]
        == "/"
    )
    assert 'data-theme="dark"' in laptop.get("/", base_url=BASE).get_data(as_text=True)
    assert 'data-theme="light"' in phone.get("/", base_url=BASE).get_data(as_text=True)
    odd = laptop.post("/preferences", data={"theme": "neon", "csrf_token": csrf_of(laptop)}, base_url=BASE)
    assert odd.status_code == 400
    assert laptop.post("/preferences", data={"theme": "light"}, base_url=BASE).status_code == 403  # no token


def test_static_files_and_unknown_paths(site: DemoSite) -> None:
    client = Client(site.app)
    script = client.get("/static/app.js", base_url=BASE)
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert b"EventSource" in script.data
    assert client.get("/static/style.css", base_url=BASE).status_code == 200
    assert client.get("/static/../site.py", base_url=BASE).status_code == 404
    assert client.get("/nowhere", base_url=BASE).status_code == 404
    assert client.put("/login", base_url=BASE).status_code == 405


class RecordingPublisher(EventPublisher):
    """A publisher nobody can subscribe to (like one that only sends to Redis)."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, event: DomainEvent) -> None:
        self.events.append(event)


def test_without_a_subscribable_publisher_the_demo_works_without_live_updates() -> None:
    with bootstrap(event_publisher=RecordingPublisher()) as sessions:
        site = build_demo_site(sessions)
        assert site.broker is None
        client = logged_in_client(site)
        assert client.get("/events", base_url=BASE).status_code == 501
        assert client.get("/api/state", base_url=BASE).status_code == 200
