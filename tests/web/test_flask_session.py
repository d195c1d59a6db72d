"""What is Flask's own in ``flask.session`` on this library: ``permanent``, ``modified``,
``Vary: Cookie``, a session outside the middleware, and values JSON cannot hold."""

from __future__ import annotations

import pytest
from flask import session

from platform_sessions.domain.errors import InvalidSessionData, SessionDataTooLarge
from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web.flask_extension import FlaskPlatformSessions
from tests.web.browsers import Browser, browser
from tests.web.session_data_apps import flask_app
from tests.web.support import Alice, SetCookie


def logged_in(sessions: PlatformSessions, form: dict[str, str] | None = None) -> tuple[Browser, str | None]:
    client = browser("flask", sessions)
    answer = client.post("/login", {"username": "alice", **(form or {})})
    assert answer.status == 200
    client.csrf_token = answer.json["csrf_token"]
    return client, answer.set_cookie


def test_a_login_is_permanent_by_default_and_session_permanent_false_makes_a_browser_session_cookie(
    sessions: PlatformSessions, alice: Alice
) -> None:
    client, set_cookie = logged_in(sessions)
    assert set_cookie is not None
    assert "max-age" in SetCookie.parse(set_cookie).attributes
    assert client.get("/data").json["permanent"] is True

    client, set_cookie = logged_in(sessions, {"permanent": "no"})
    assert set_cookie is not None
    cookie = SetCookie.parse(set_cookie)
    assert "max-age" not in cookie.attributes
    assert "expires" not in cookie.attributes
    assert client.get("/data").json["permanent"] is False
    assert sessions.resolve(client.token).session.persistent_cookie is False
    assert "_permanent" not in sessions.resolve(client.token).session.data  # not a data key


def test_a_rotation_keeps_the_browser_session_cookie(sessions: PlatformSessions, alice: Alice) -> None:
    app = flask_app(sessions)
    extension: FlaskPlatformSessions = app.extensions["platform_sessions"]

    @app.post("/rotate")
    def rotate() -> dict[str, bool]:
        extension.handle.rotate()
        return {"rotated": True}

    client = Browser("flask", app)
    answer = client.post("/login", {"username": "alice", "permanent": "no"})
    client.csrf_token = answer.json["csrf_token"]
    rotated = client.post("/rotate").set_cookie
    assert rotated is not None
    assert "max-age" not in SetCookie.parse(rotated).attributes


def test_a_page_that_reads_the_session_varies_on_the_cookie(sessions: PlatformSessions) -> None:
    with flask_app(sessions).test_client() as client:
        response = client.get("/data", base_url="https://app.example")
        assert "Cookie" in response.headers.get("Vary", "")


def test_a_value_changed_in_place_is_written_without_marking_the_session_modified(
    sessions: PlatformSessions, alice: Alice
) -> None:
    app = flask_app(sessions)

    @app.post("/cart")
    def add_to_cart() -> dict[str, object]:
        cart = session.setdefault("cart", [])
        session.modified = False  # as if nothing told Flask: the comparison still sees it
        cart.append("book")
        return {"cart": cart}

    client = Browser("flask", app)
    client.csrf_token = client.post("/login", {"username": "alice"}).json["csrf_token"]
    client.post("/cart")
    client.post("/cart")
    assert sessions.resolve(client.token).session.data["cart"] == ["book", "book"]


def test_values_json_cannot_hold_and_oversized_ones_are_refused_with_a_typed_error(
    sessions: PlatformSessions, alice: Alice
) -> None:
    app = flask_app(sessions)

    @app.post("/odd")
    def odd() -> dict[str, bool]:
        session["when"] = {1, 2}  # a set: no JSON for it
        return {"ok": True}

    @app.post("/big")
    def big() -> dict[str, bool]:
        session["blob"] = "x" * (1024 * 1024)
        return {"ok": True}

    client = Browser("flask", app)
    client.csrf_token = client.post("/login", {"username": "alice"}).json["csrf_token"]
    before = sessions.resolve(client.token).session
    with pytest.raises(InvalidSessionData):
        client.post("/odd")  # testing mode propagates the error; in production it is a 500
    with pytest.raises(SessionDataTooLarge):
        client.post("/big")
    after = sessions.resolve(client.token).session
    assert (after.data, after.version) == (before.data, before.version)  # nothing written


def test_outside_the_middleware_the_session_reads_empty_and_refuses_to_keep_changes(
    sessions: PlatformSessions,
) -> None:
    app = flask_app(sessions)
    with app.test_request_context("/"):
        assert dict(session) == {}
        session["x"] = 1
        with pytest.raises(RuntimeError, match="outside SessionMiddleware"):
            app.session_interface.save_session(app, session, app.response_class())


def test_the_extension_can_leave_flasks_own_session_alone(sessions: PlatformSessions) -> None:
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    app = Flask(__name__)
    FlaskPlatformSessions(app, sessions=sessions, flask_session=False)
    assert isinstance(app.session_interface, SecureCookieSessionInterface)
