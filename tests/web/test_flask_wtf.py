"""The Flask extension beside Flask-WTF: both CSRF tokens render in one template and both hold."""

from __future__ import annotations

import re

import pytest
from flask import Flask, render_template_string, request

from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web import WebSettings
from platform_sessions.entrypoints.web.flask_extension import FlaskPlatformSessions

flask_wtf = pytest.importorskip("flask_wtf.csrf")

BASE = "https://app.example"
FIELD = "platform_sessions_csrf_token"
PAGE = """
<form method="post" action="/profile">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <input type="hidden" name="platform_sessions_csrf_token" value="{{ platform_sessions_csrf_token }}">
  <input name="bio">
</form>
"""


def create_app(sessions: PlatformSessions) -> Flask:
    app = Flask(__name__)
    app.secret_key = "test only"  # Flask-WTF keeps its token in Flask's own session cookie
    app.testing = True
    wtf = flask_wtf.CSRFProtect(app)
    extension = FlaskPlatformSessions(app, sessions=sessions, settings=WebSettings(csrf_form_field=FIELD))

    @app.post("/login")
    @wtf.exempt
    def login() -> dict[str, str]:
        extension.handle.start("alice")
        return {}

    @app.get("/profile")
    def page() -> str:
        return render_template_string(PAGE)

    @app.post("/profile")
    def save() -> dict[str, str]:
        return {"bio": request.form["bio"]}

    return app


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, page
    return found.group(1)


def test_a_template_renders_both_tokens_and_a_form_with_both_is_accepted(sessions: PlatformSessions) -> None:
    with create_app(sessions).test_client() as client:
        assert client.post("/login", base_url=BASE).status_code == 200
        page = client.get("/profile", base_url=BASE)
        assert page.status_code == 200  # the old "csrf_token" variable made this a 500
        html = page.get_data(as_text=True)
        wtf_token, our_token = _hidden(html, "csrf_token"), _hidden(html, FIELD)
        assert wtf_token
        assert our_token
        assert wtf_token != our_token
        form = {"csrf_token": wtf_token, FIELD: our_token, "bio": "hi"}
        # Flask-WTF checks the Referer of HTTPS posts; a browser sends it with the form
        referer = {"Referer": f"{BASE}/profile"}
        saved = client.post("/profile", data=form, base_url=BASE, headers=referer)
        assert (saved.status_code, saved.get_json()) == (200, {"bio": "hi"}), saved.get_data(as_text=True)
        # each check still holds on its own
        assert (
            client.post("/profile", data={**form, FIELD: "wrong"}, base_url=BASE, headers=referer).status_code
            == 403
        )
        assert (
            client.post(
                "/profile", data={**form, "csrf_token": "wrong"}, base_url=BASE, headers=referer
            ).status_code
            == 400
        )
