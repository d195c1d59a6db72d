"""examples/flask_app.py through Flask's own test client: the extension end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from platform_sessions.adapters.memory import ManualClock
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web import WebSettings
from tests.web.support import Alice, SetCookie, load_example

BASE = "https://app.example"
COOKIE = "__Host-platform_session"
flask_app = load_example("flask_app")


@pytest.fixture
def client(sessions: PlatformSessions) -> Iterator[FlaskClient]:
    app = flask_app.create_app(sessions)
    app.testing = True
    with app.test_client() as test_client:
        yield test_client


def login(client: FlaskClient, user: str = "alice") -> str:
    response = client.post("/login", data={"username": user}, base_url=BASE)
    assert response.status_code == 200
    csrf: str = response.get_json()["csrf_token"]
    return csrf


def token(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE, domain="app.example")
    assert cookie is not None
    return cookie.value


def test_login_sets_a_cookie_with_every_protective_attribute(client: FlaskClient, alice: Alice) -> None:
    response = client.post("/login", data={"username": "alice"}, base_url=BASE)
    cookie = SetCookie.parse(response.headers["Set-Cookie"])
    assert cookie.name == COOKIE  # __Host-: Secure, Path=/ and no Domain, or the browser drops it
    assert cookie.attributes == {
        "max-age": str(int(timedelta(days=7).total_seconds())),  # the absolute expiry
        "path": "/",
        "httponly": "",
        "samesite": "Lax",
        "secure": "",
    }
    assert client.get("/me", base_url=BASE).get_json()["user"] == "alice"


def test_require_session_gives_401_to_anonymous_requests_only(client: FlaskClient, alice: Alice) -> None:
    assert client.get("/me", base_url=BASE).status_code == 401
    login(client)
    assert client.get("/me", base_url=BASE).status_code == 200


def test_switching_needs_the_csrf_token_from_the_header_or_the_form(
    client: FlaskClient, alice: Alice
) -> None:
    csrf = login(client)
    target = {"platform_id": alice.pixelfed.id}
    assert client.post("/platform", data=target, base_url=BASE).status_code == 403
    assert client.post("/platform", data={**target, "csrf_token": "nope"}, base_url=BASE).status_code == 403
    by_form = client.post("/platform", data={**target, "csrf_token": csrf}, base_url=BASE)
    assert by_form.get_json() == {"platform": alice.pixelfed.id, "changed": True}
    back = {"platform_id": alice.mastodon.id}
    by_header = client.post("/platform", data=back, headers={"X-CSRF-Token": csrf}, base_url=BASE)
    assert by_header.get_json() == {"platform": alice.mastodon.id, "changed": True}


def test_a_csrf_exempt_view_takes_unsafe_requests_without_the_token(
    client: FlaskClient, alice: Alice
) -> None:
    login(client)
    assert client.post("/webhook", base_url=BASE).get_json() == {"received": True}
    assert client.post("/rotate", base_url=BASE).status_code == 403  # not exempt


def test_the_override_header_works_on_another_platform_for_one_request(
    client: FlaskClient, alice: Alice
) -> None:
    login(client)
    override = client.get("/me", headers={"X-Platform-Id": alice.pixelfed.id}, base_url=BASE).get_json()
    assert (override["platform"], override["is_override"]) == (alice.pixelfed.id, True)
    plain = client.get("/me", base_url=BASE).get_json()
    assert (plain["platform"], plain["is_override"]) == (alice.mastodon.id, False)
    assert client.get("/me", headers={"X-Platform-Id": alice.retired.id}, base_url=BASE).status_code == 403
    assert client.get("/me", headers={"X-Platform-Id": alice.bobs.id}, base_url=BASE).status_code == 404


def test_rotation_issues_a_new_cookie_and_retires_the_old_token(
    client: FlaskClient, alice: Alice, sessions: PlatformSessions
) -> None:
    csrf = login(client)
    old = token(client)
    response = client.post("/rotate", headers={"X-CSRF-Token": csrf}, base_url=BASE)
    assert response.get_json() == {"rotated": True}
    assert SetCookie.parse(response.headers["Set-Cookie"]).value == token(client) != old
    assert client.get("/me", base_url=BASE).get_json()["user"] == "alice"
    with pytest.raises(SessionNotFound):
        sessions.resolve(old)


def test_an_expired_session_is_anonymous_and_its_cookie_is_cleared(
    client: FlaskClient, alice: Alice, clock: ManualClock
) -> None:
    login(client)
    clock.advance(timedelta(hours=2, seconds=1))
    response = client.get("/me", base_url=BASE)
    assert response.status_code == 401
    assert SetCookie.parse(response.headers["Set-Cookie"]).attributes["max-age"] == "0"
    assert client.get_cookie(COOKIE, domain="app.example") is None


def test_logout_clears_the_cookie(client: FlaskClient, alice: Alice, sessions: PlatformSessions) -> None:
    csrf = login(client)
    assert client.post("/logout", headers={"X-CSRF-Token": csrf}, base_url=BASE).get_json() == {"ended": True}
    assert client.get_cookie(COOKIE, domain="app.example") is None
    assert sessions.list_sessions("alice") == []


def test_plain_http_settings_drop_secure_and_the_prefix(sessions: PlatformSessions, alice: Alice) -> None:
    app = flask_app.create_app(sessions, WebSettings(cookie_name="dev", secure=False))
    with app.test_client() as client:
        response = client.post("/login", data={"username": "alice"})
        cookie = SetCookie.parse(response.headers["Set-Cookie"])
        assert cookie.name == "dev"
        assert "secure" not in cookie.attributes
        assert client.get("/me").get_json()["user"] == "alice"


def test_a_visitors_preference_and_flash_are_kept_in_the_store_and_through_the_login(
    client: FlaskClient, sessions: PlatformSessions, alice: Alice
) -> None:
    saved = client.post("/preferences", data={"theme": "dark"}, base_url=BASE)
    assert saved.get_json() == {"theme": "dark"}
    visitor = token(client)
    assert sessions.resolve(visitor).session.is_anonymous
    same_origin = {"Sec-Fetch-Site": "same-origin"}  # a visitor's form post, as a browser sends it
    client.post("/login", data={"username": "alice"}, headers=same_origin, base_url=BASE)
    assert token(client) != visitor
    assert client.get("/page", base_url=BASE).get_json() == {
        "theme": "dark",
        "messages": ["Preferences saved."],
    }
    assert client.get("/page", base_url=BASE).get_json()["messages"] == []
    with pytest.raises(SessionNotFound):
        sessions.resolve(visitor)
