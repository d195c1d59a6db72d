"""examples/fastapi_app.py through Starlette's TestClient: the dependencies end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from platform_sessions.adapters.memory import ManualClock
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web import WebSettings
from tests.web.support import Alice, SetCookie, load_example

BASE = "https://app.example"
COOKIE = "__Host-platform_session"
fastapi_app = load_example("fastapi_app")


@pytest.fixture
def client(sessions: PlatformSessions) -> Iterator[TestClient]:
    with TestClient(fastapi_app.create_app(sessions), base_url=BASE) as test_client:
        yield test_client


def login(client: TestClient, user: str = "alice") -> str:
    response = client.post("/login", json={"username": user})
    assert response.status_code == 200
    csrf: str = response.json()["csrf_token"]
    return csrf


def test_login_sets_a_cookie_with_every_protective_attribute(client: TestClient, alice: Alice) -> None:
    cookie = SetCookie.parse(client.post("/login", json={"username": "alice"}).headers["set-cookie"])
    assert cookie.name == COOKIE
    assert cookie.attributes == {
        "max-age": str(int(timedelta(days=7).total_seconds())),
        "path": "/",
        "httponly": "",
        "samesite": "Lax",
        "secure": "",
    }
    assert client.get("/me").json()["user"] == "alice"


def test_the_require_session_dependency_gives_401_to_anonymous_requests(
    client: TestClient, alice: Alice
) -> None:
    assert client.get("/me").status_code == 401
    login(client)
    assert client.get("/me").status_code == 200


def test_switching_needs_the_csrf_token(client: TestClient, alice: Alice) -> None:
    csrf = login(client)
    body = {"platform_id": alice.pixelfed.id}
    assert client.post("/platform", json=body).status_code == 403
    assert client.post("/platform", json=body, headers={"X-CSRF-Token": csrf + "x"}).status_code == 403
    switched = client.post("/platform", json=body, headers={"X-CSRF-Token": csrf})
    assert switched.json() == {"platform": alice.pixelfed.id, "changed": True}
    again = client.post("/platform", json=body, headers={"X-CSRF-Token": csrf})
    assert again.json() == {"platform": alice.pixelfed.id, "changed": False}  # a double click
    retired = client.post("/platform", json={"platform_id": alice.retired.id}, headers={"X-CSRF-Token": csrf})
    assert retired.status_code == 404


def test_a_csrf_exempt_endpoint_takes_unsafe_requests_without_the_token(
    client: TestClient, alice: Alice
) -> None:
    login(client)
    assert client.post("/webhook").json() == {"received": True}
    assert client.post("/rotate").status_code == 403


def test_the_override_header_works_on_another_platform_for_one_request(
    client: TestClient, alice: Alice
) -> None:
    login(client)
    override = client.get("/me", headers={"X-Platform-Id": alice.pixelfed.id}).json()
    assert (override["platform"], override["is_override"]) == (alice.pixelfed.id, True)
    assert client.get("/me").json()["platform"] == alice.mastodon.id
    assert client.get("/me", headers={"X-Platform-Id": alice.retired.id}).status_code == 403
    assert client.get("/me", headers={"X-Platform-Id": alice.bobs.id}).status_code == 404


def test_rotation_issues_a_new_cookie_and_retires_the_old_token(
    client: TestClient, alice: Alice, sessions: PlatformSessions
) -> None:
    csrf = login(client)
    old = client.cookies[COOKIE]
    response = client.post("/rotate", headers={"X-CSRF-Token": csrf})
    new = SetCookie.parse(response.headers["set-cookie"]).value
    assert new != old
    assert client.get("/me").json()["user"] == "alice"
    with pytest.raises(SessionNotFound):
        sessions.resolve(old)


def test_an_expired_session_is_anonymous_and_its_cookie_is_cleared(
    client: TestClient, alice: Alice, clock: ManualClock
) -> None:
    login(client)
    clock.advance(timedelta(days=7))
    response = client.get("/me")
    assert response.status_code == 401
    assert SetCookie.parse(response.headers["set-cookie"]).attributes["max-age"] == "0"


def test_logout_clears_the_cookie(client: TestClient, alice: Alice, sessions: PlatformSessions) -> None:
    csrf = login(client)
    response = client.post("/logout", headers={"X-CSRF-Token": csrf})
    assert response.json() == {"ended": True}
    assert SetCookie.parse(response.headers["set-cookie"]).attributes["max-age"] == "0"
    assert sessions.list_sessions("alice") == []


def test_plain_http_settings_drop_secure_and_the_prefix(sessions: PlatformSessions, alice: Alice) -> None:
    app = fastapi_app.create_app(sessions, WebSettings(cookie_name="dev", secure=False))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        cookie = SetCookie.parse(client.post("/login", json={"username": "alice"}).headers["set-cookie"])
        assert cookie.name == "dev"
        assert "secure" not in cookie.attributes
        assert client.get("/me").json()["user"] == "alice"


def test_request_session_keeps_a_cart_across_requests_and_through_the_login(
    client: TestClient, sessions: PlatformSessions, alice: Alice
) -> None:
    assert client.get("/cart").json() == {"cart": []}
    assert "set-cookie" not in client.get("/cart").headers  # reading starts no session
    assert client.post("/cart", json={"name": "book"}).json() == {"cart": ["book"]}
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    csrf = client.post("/login", json={"username": "alice"}, headers=same_origin).json()["csrf_token"]
    assert client.post("/cart", json={"name": "pen"}, headers={"X-CSRF-Token": csrf}).json() == {
        "cart": ["book", "pen"]
    }
    assert client.get("/cart").json() == {"cart": ["book", "pen"]}
