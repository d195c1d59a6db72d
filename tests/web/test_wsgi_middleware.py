"""The framework-neutral WSGI middleware, driven through werkzeug's test client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug.test import Client

from platform_sessions.adapters.memory import ManualClock
from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web import SessionMiddleware, WebSettings
from platform_sessions.entrypoints.web.handle import ResponseAlreadyStarted
from tests.web.neutral_apps import wsgi_app, wsgi_late_login, wsgi_private
from tests.web.support import Alice, SetCookie, unreachable_store_sessions

BASE = "https://app.example"
COOKIE = "__Host-platform_session"


def client_for(sessions: PlatformSessions, app: object = wsgi_app, **options: object) -> Client:
    return Client(SessionMiddleware(app, sessions, **options))  # type: ignore[arg-type]


def logged_in(client: Client) -> dict[str, str]:
    return client.post("/login", base_url=BASE).get_json()  # type: ignore[no-any-return]


def test_login_sets_the_cookie_and_later_requests_carry_the_session(
    sessions: PlatformSessions, alice: Alice, clock: ManualClock
) -> None:
    client = client_for(sessions)
    response = client.post("/login", base_url=BASE)
    cookie = SetCookie.parse(response.headers["Set-Cookie"])
    assert cookie.name == COOKIE
    assert cookie.attributes["max-age"] == str(int(timedelta(days=7).total_seconds()))
    assert {"secure", "httponly", "path", "samesite"} <= cookie.attributes.keys()
    assert client.get("/", base_url=BASE).get_json()["user"] == "alice"
    assert client.get("/", base_url=BASE).headers.get("Set-Cookie") is None  # resolving sets nothing


def test_max_age_counts_down_to_the_absolute_expiry(
    sessions: PlatformSessions, alice: Alice, clock: ManualClock
) -> None:
    client = client_for(sessions)
    logged_in(client)
    clock.advance(timedelta(hours=1))
    token = client.get_cookie(COOKIE, domain="app.example")
    assert token is not None
    rotated = client.post(
        "/rotate",
        base_url=BASE,
        headers={"X-CSRF-Token": client.get("/", base_url=BASE).get_json()["csrf_token"]},
    )
    cookie = SetCookie.parse(rotated.headers["Set-Cookie"])
    assert cookie.attributes["max-age"] == str(int((timedelta(days=7) - timedelta(hours=1)).total_seconds()))
    assert cookie.value != token.value


def test_a_malformed_or_unknown_cookie_is_anonymous_and_cleared(sessions: PlatformSessions) -> None:
    client = client_for(sessions)
    for value in ("garbage", "abcdefgh." + "A" * 43):
        client.set_cookie(COOKIE, value, domain="app.example")
        response = client.get("/", base_url=BASE)
        assert response.get_json()["user"] is None
        cleared = SetCookie.parse(response.headers["Set-Cookie"])
        assert (cleared.value, cleared.attributes["max-age"]) == ("", "0")


def test_an_idle_session_is_anonymous_and_its_cookie_cleared(
    sessions: PlatformSessions, alice: Alice, clock: ManualClock
) -> None:
    client = client_for(sessions)
    logged_in(client)
    clock.advance(timedelta(hours=2, seconds=1))
    response = client.get("/", base_url=BASE)
    assert response.get_json()["user"] is None
    assert SetCookie.parse(response.headers["Set-Cookie"]).attributes["max-age"] == "0"


def test_a_store_outage_is_a_503_and_never_a_logout() -> None:
    with unreachable_store_sessions() as sessions:
        client = client_for(sessions)
        client.set_cookie(COOKIE, "abcdefgh." + "A" * 43, domain="app.example")
        response = client.get("/", base_url=BASE)
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert response.get_json()["error"] == "session_store_unavailable"
        assert "Set-Cookie" not in response.headers


def test_unsafe_requests_of_a_session_need_the_token_in_the_header_or_the_form(
    sessions: PlatformSessions, alice: Alice
) -> None:
    client = client_for(sessions)
    token = logged_in(client)["csrf_token"]
    assert client.post("/change", base_url=BASE).status_code == 403
    assert client.post("/change", base_url=BASE, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post("/change", base_url=BASE, headers={"X-CSRF-Token": token}).status_code == 200
    form = client.post("/change", base_url=BASE, data={"csrf_token": token, "name": "x"})
    assert form.status_code == 200
    assert "name=x" in form.get_json()["body"]  # the application still reads the whole form
    multipart = client.post("/change", base_url=BASE, data={"csrf_token": token, "file": (b"data", "f.txt")})
    assert multipart.status_code == 200
    assert client.get("/change", base_url=BASE).status_code == 200  # safe methods need nothing


def test_a_refused_token_answers_json_and_leaves_the_cookie(sessions: PlatformSessions, alice: Alice) -> None:
    client = client_for(sessions)
    logged_in(client)
    response = client.delete("/thing", base_url=BASE)
    assert response.status_code == 403
    assert response.get_json()["error"] == "csrf_token_invalid"
    assert "Set-Cookie" not in response.headers


def test_a_form_too_large_to_search_must_use_the_header(sessions: PlatformSessions, alice: Alice) -> None:
    client = client_for(sessions, settings=WebSettings(max_form_bytes=100))
    token = logged_in(client)["csrf_token"]
    big = {"csrf_token": token, "padding": "x" * 200}
    assert client.post("/change", base_url=BASE, data=big).status_code == 403
    assert client.post("/change", base_url=BASE, data=big, headers={"X-CSRF-Token": token}).status_code == 200


def test_exempt_paths_and_anonymous_requests_skip_the_check(sessions: PlatformSessions, alice: Alice) -> None:
    client = client_for(
        sessions, csrf_exempt_paths={"/hook"}, csrf_exempt=lambda env: env["PATH_INFO"] == "/cb"
    )
    assert client.post("/anything", base_url=BASE).status_code == 200  # anonymous: nothing to forge
    logged_in(client)
    assert client.post("/hook", base_url=BASE).status_code == 200
    assert client.post("/cb", base_url=BASE).status_code == 200
    assert client.post("/other", base_url=BASE).status_code == 403


def test_the_override_header_works_on_another_platform_for_one_request(
    sessions: PlatformSessions, alice: Alice
) -> None:
    client = client_for(sessions)
    logged_in(client)
    overridden = client.get("/", base_url=BASE, headers={"X-Platform-Id": alice.pixelfed.id}).get_json()
    assert (overridden["platform"], overridden["is_override"]) == (alice.pixelfed.id, True)
    plain = client.get("/", base_url=BASE).get_json()
    assert (plain["platform"], plain["is_override"]) == (alice.mastodon.id, False)  # never stored


@pytest.mark.parametrize(
    ("which", "status", "code"),
    [
        ("retired", 403, "platform_inactive"),
        ("bobs", 404, "platform_not_found"),  # another user's platform looks like no platform
        ("unknown", 404, "platform_not_found"),
        ("malformed", 404, "platform_not_found"),
    ],
)
def test_an_invalid_override_is_refused(
    sessions: PlatformSessions, alice: Alice, which: str, status: int, code: str
) -> None:
    ids = {"retired": alice.retired.id, "bobs": alice.bobs.id, "unknown": "f" * 24, "malformed": "x" * 300}
    client = client_for(sessions)
    logged_in(client)
    response = client.get("/", base_url=BASE, headers={"X-Platform-Id": ids[which]})
    assert (response.status_code, response.get_json()["error"]) == (status, code)
    assert "Set-Cookie" not in response.headers


def test_the_override_header_is_ignored_without_a_session(sessions: PlatformSessions, alice: Alice) -> None:
    response = client_for(sessions).get("/", base_url=BASE, headers={"X-Platform-Id": alice.pixelfed.id})
    assert response.status_code == 200
    assert response.get_json()["user"] is None


def test_rotation_replaces_the_cookie_and_the_old_token_stops_working(
    sessions: PlatformSessions, alice: Alice
) -> None:
    client = client_for(sessions)
    csrf = logged_in(client)["csrf_token"]
    old = client.get_cookie(COOKIE, domain="app.example")
    assert old is not None
    client.post("/rotate", base_url=BASE, headers={"X-CSRF-Token": csrf})
    new = client.get_cookie(COOKIE, domain="app.example")
    assert new is not None
    assert new.value != old.value
    after = client.get("/", base_url=BASE).get_json()
    assert after["user"] == "alice"
    assert after["csrf_token"] != csrf  # the CSRF token is renewed with the cookie
    assert client.post("/change", base_url=BASE, headers={"X-CSRF-Token": csrf}).status_code == 403
    renewed = {"X-CSRF-Token": after["csrf_token"]}
    assert client.post("/change", base_url=BASE, headers=renewed).status_code == 200
    stale = client_for(sessions)
    stale.set_cookie(COOKIE, old.value, domain="app.example")
    assert stale.get("/", base_url=BASE).get_json()["user"] is None


def test_logout_ends_the_session_and_clears_the_cookie(sessions: PlatformSessions, alice: Alice) -> None:
    client = client_for(sessions)
    csrf = logged_in(client)["csrf_token"]
    token = client.get_cookie(COOKIE, domain="app.example")
    response = client.post("/logout", base_url=BASE, headers={"X-CSRF-Token": csrf})
    assert SetCookie.parse(response.headers["Set-Cookie"]).attributes["max-age"] == "0"
    assert client.get_cookie(COOKIE, domain="app.example") is None
    assert token is not None
    assert sessions.list_sessions("alice") == []


def test_require_session_answers_401_only_where_it_is_used(sessions: PlatformSessions, alice: Alice) -> None:
    client = client_for(sessions, wsgi_private)
    response = client.get("/", base_url=BASE)
    assert response.status_code == 401
    assert response.get_json()["error"] == "login_required"
    login = client_for(sessions)
    logged_in(login)
    token = login.get_cookie(COOKIE, domain="app.example")
    assert token is not None
    client.set_cookie(COOKIE, token.value, domain="app.example")
    assert client.get("/", base_url=BASE).data == b"secret"


def test_changing_the_session_after_the_response_started_is_an_error(sessions: PlatformSessions) -> None:
    with pytest.raises(ResponseAlreadyStarted):
        client_for(sessions, wsgi_late_login).get("/", base_url=BASE)
