"""platform-sessions in a Flask application: the extension object, a login, a switch, a logout.

Run it (plain HTTP on 127.0.0.1, so the cookie cannot be Secure):

    pip install -e ".[flask]"
    python examples/flask_app.py        # then: curl -i -X POST -d username=alice http://127.0.0.1:5000/login

In production keep the default ``WebSettings()``: a Secure ``__Host-`` cookie, served over HTTPS.
"""

from __future__ import annotations

from flask import Flask, flash, get_flashed_messages, request, session

from platform_sessions.domain.errors import PlatformInactive, PlatformNotFound
from platform_sessions.entrypoints import PlatformSessions, bootstrap
from platform_sessions.entrypoints.web import WebSettings
from platform_sessions.entrypoints.web.flask_extension import FlaskPlatformSessions


def create_app(sessions: PlatformSessions | None = None, settings: WebSettings | None = None) -> Flask:
    """The example application (``flask --app examples/flask_app.py run`` finds this factory)."""
    app = Flask(__name__)
    platform_sessions = FlaskPlatformSessions(app, sessions=sessions or bootstrap(), settings=settings)

    @app.post("/login")
    def login() -> dict[str, object]:
        user_id = request.form["username"]
        # ... check the password against your own user table here ...
        context = platform_sessions.handle.start(user_id)  # the middleware sets the cookie
        return {"user": context.user_id, "csrf_token": context.csrf_token}

    @app.get("/me")
    @platform_sessions.require_session  # 401 when anonymous
    def me() -> dict[str, object]:
        context = platform_sessions.context
        assert context is not None
        return {
            "user": context.user_id,
            "platform": context.platform_id,  # the X-Platform-Id override's, if one was sent
            "is_override": context.is_override,
            "csrf_token": context.csrf_token,  # for scripts; templates get {{ csrf_token }}
        }

    @app.post("/platform")  # unsafe: the CSRF token must come in X-CSRF-Token or csrf_token
    @platform_sessions.require_session
    def switch_platform() -> tuple[dict[str, object], int]:
        try:
            outcome = platform_sessions.handle.switch_platform(request.form["platform_id"])
        except (PlatformNotFound, PlatformInactive) as error:
            return {"error": type(error).__name__}, 404
        return {"platform": outcome.session.active_platform_id, "changed": outcome.changed}, 200

    @app.post("/rotate")
    @platform_sessions.require_session
    def rotate() -> dict[str, object]:
        platform_sessions.handle.rotate()  # new token in the cookie; the old one stops working
        return {"rotated": True}

    @app.post("/logout")
    def logout() -> dict[str, object]:
        return {"ended": platform_sessions.handle.end()}  # the middleware clears the cookie

    # flask.session is the session's data, kept in the store: only changed keys are written.
    @app.post("/preferences")
    def set_theme() -> dict[str, object]:
        session["theme"] = request.form["theme"]  # a visitor's first write starts their session
        flash("Preferences saved.")  # shown once, by the next page that reads the messages
        return {"theme": session["theme"]}

    @app.get("/page")
    def page() -> dict[str, object]:
        return {"theme": session.get("theme", "light"), "messages": get_flashed_messages()}

    @app.post("/webhook")
    @platform_sessions.csrf_exempt  # called by another server, which has no CSRF token
    def webhook() -> dict[str, object]:
        return {"received": True}

    return app


if __name__ == "__main__":
    sessions = bootstrap()
    sessions.connect_platform(
        "alice",
        name="Mastodon",
        platform_type="mastodon",
        instance_url="https://mastodon.example",
        username="alice",
    )
    create_app(sessions, WebSettings(secure=False)).run(host="127.0.0.1", port=5000)
