"""The framework-neutral ASGI middleware, driven through Starlette's test client (httpx)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from platform_sessions.adapters.memory import ManualClock
from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web import AsgiSessionMiddleware, WebSettings
from platform_sessions.entrypoints.web.asgi import ASGIApp, Receive, Scope, Send, scope_headers
from tests.web.neutral_apps import asgi_app
from tests.web.support import Alice, SetCookie, unreachable_store_sessions

BASE = "https://app.example"
COOKIE = "__Host-platform_session"


@pytest.fixture
def client(sessions: PlatformSessions) -> Iterator[TestClient]:
    with TestClient(AsgiSessionMiddleware(asgi_app, sessions), base_url=BASE) as test_client:
        yield test_client


def login(client: TestClient) -> str:
    csrf: str = client.post("/login").json()["csrf_token"]
    return csrf


def test_lifespan_passes_through_and_login_sets_a_host_prefixed_cookie(
    client: TestClient, alice: Alice
) -> None:
    response = client.post("/login")
    cookie = SetCookie.parse(response.headers["set-cookie"])
    assert cookie.name == COOKIE
    assert cookie.attributes["max-age"] == str(int(timedelta(days=7).total_seconds()))
    assert {"secure", "httponly", "path", "samesite"} <= cookie.attributes.keys()
    assert client.get("/").json()["user"] == "alice"


def test_csrf_from_the_header_or_a_replayed_form_body(client: TestClient, alice: Alice) -> None:
    csrf = login(client)
    assert client.post("/change").status_code == 403
    assert client.post("/change", headers={"X-CSRF-Token": csrf}).status_code == 200
    form = client.post("/change", data={"csrf_token": csrf, "name": "x"})
    assert form.status_code == 200
    assert "name=x" in form.json()["body"]  # the application gets the body the middleware read
    assert client.put("/change", data={"csrf_token": "wrong"}).status_code == 403


def test_override_rotation_and_logout(client: TestClient, alice: Alice, clock: ManualClock) -> None:
    csrf = login(client)
    override = client.get("/", headers={"X-Platform-Id": alice.pixelfed.id}).json()
    assert (override["platform"], override["is_override"]) == (alice.pixelfed.id, True)
    assert client.get("/").json()["platform"] == alice.mastodon.id
    assert client.get("/", headers={"X-Platform-Id": alice.retired.id}).status_code == 403
    assert client.get("/", headers={"X-Platform-Id": alice.bobs.id}).status_code == 404

    old = client.cookies[COOKIE]
    clock.advance(timedelta(minutes=10))
    rotation = client.post("/rotate", headers={"X-CSRF-Token": csrf})
    rotated = SetCookie.parse(rotation.headers["set-cookie"])
    assert rotated.value != old
    assert rotation.json()["csrf_token"] != csrf  # renewed with the token: the old one is refused
    assert client.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 403
    csrf = rotation.json()["csrf_token"]
    assert rotated.attributes["max-age"] == str(
        int((timedelta(days=7) - timedelta(minutes=10)).total_seconds())
    )

    cleared = SetCookie.parse(client.post("/logout", headers={"X-CSRF-Token": csrf}).headers["set-cookie"])
    assert (cleared.value, cleared.attributes["max-age"]) == ("", "0")
    assert client.get("/").json()["user"] is None


def test_a_stale_cookie_is_cleared(client: TestClient) -> None:
    client.cookies.set(COOKIE, "abcdefgh." + "A" * 43, domain="app.example")
    response = client.get("/")
    assert response.json()["user"] is None
    assert SetCookie.parse(response.headers["set-cookie"]).attributes["max-age"] == "0"


def test_a_store_outage_is_a_503_and_keeps_the_cookie() -> None:
    with (
        unreachable_store_sessions() as sessions,
        TestClient(AsgiSessionMiddleware(asgi_app, sessions), base_url=BASE) as client,
    ):
        client.cookies.set(COOKIE, "abcdefgh." + "A" * 43, domain="app.example")
        response = client.get("/")
        assert response.status_code == 503
        assert "set-cookie" not in response.headers


def test_plain_http_settings_for_a_local_server(sessions: PlatformSessions, alice: Alice) -> None:
    app = AsgiSessionMiddleware(asgi_app, sessions, settings=WebSettings(cookie_name="dev", secure=False))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        cookie = SetCookie.parse(client.post("/login").headers["set-cookie"])
        assert cookie.name == "dev"
        assert "secure" not in cookie.attributes
        assert client.get("/").json()["user"] == "alice"


def test_a_cookie_split_over_several_header_fields_is_found() -> None:
    scope = {
        "headers": [(b"cookie", b"a=1"), (b"Cookie", b"__Host-platform_session=x.y"), (b"accept", b"*/*")]
    }
    assert scope_headers(scope)["cookie"] == "a=1; __Host-platform_session=x.y"


def session_app(replace: bool) -> ASGIApp:
    """Sets ``theme`` in ``scope["session"]``: in the dict given, or in a new dict put there."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if replace:
            scope["session"] = {**scope["session"], "theme": "dark"}
        else:
            scope["session"]["theme"] = "dark"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


@pytest.mark.parametrize("replace", [False, True])
def test_scope_session_is_written_back_even_when_the_app_put_another_dict_there(
    sessions: PlatformSessions, replace: bool
) -> None:
    client = TestClient(AsgiSessionMiddleware(session_app(replace), sessions), base_url=BASE)  # no lifespan
    token = SetCookie.parse(client.get("/").headers["set-cookie"]).value
    assert sessions.resolve(token).session.data == {"theme": "dark"}


def test_scope_session_can_be_left_to_another_middleware(sessions: PlatformSessions) -> None:
    seen: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append("session" in scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    client = TestClient(AsgiSessionMiddleware(app, sessions, scope_session=False), base_url=BASE)
    assert "set-cookie" not in client.get("/").headers
    assert seen == [False]
