"""One small browser over Flask's and Starlette's test clients, so one test drives both apps.

Like a current browser it sends ``Sec-Fetch-Site: same-origin`` with its requests, keeps the
cookie, and echoes the CSRF token of the session it last learnt (``refresh_csrf``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from attrs import frozen

from platform_sessions.entrypoints import PlatformSessions

BASE = "https://app.example"
COOKIE = "__Host-platform_session"
FRAMEWORKS = ("flask", "starlette")


@frozen
class Answer:
    """A response as the tests look at it."""

    status: int
    json: Any
    set_cookie: str | None


class Browser:
    """A test client of the Flask or the Starlette app of ``session_data_apps``."""

    def __init__(self, framework: str, app: Any) -> None:
        self.framework = framework
        self.csrf_token: str | None = None
        if framework == "flask":
            app.testing = True
            self._client: Any = app.test_client()
        else:
            from starlette.testclient import TestClient

            self._client = TestClient(app, base_url=BASE)

    @property
    def test_client(self) -> Any:
        """The framework's own test client, for what this class does not cover."""
        return self._client

    def get(self, path: str) -> Answer:
        """A same-origin GET."""
        return self._send("GET", path, {}, {"Sec-Fetch-Site": "same-origin"})

    def post(
        self, path: str, form: Mapping[str, str] | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Answer:
        """A same-origin POST of ``form`` (a form body for Flask, JSON for Starlette) echoing the
        known CSRF token (``headers`` replace the defaults)."""
        sent = {"Sec-Fetch-Site": "same-origin"}
        if self.csrf_token:
            sent["X-CSRF-Token"] = self.csrf_token
        return self._send("POST", path, dict(form or {}), sent if headers is None else dict(headers))

    def refresh_csrf(self) -> str | None:
        """Learn the token of the session the browser holds now (as a page would render it)."""
        self.csrf_token = self.get("/csrf").json["csrf_token"]
        return self.csrf_token

    @property
    def token(self) -> str | None:
        """The session cookie's value, if the browser holds one."""
        if self.framework == "flask":
            cookie = self._client.get_cookie(COOKIE, domain="app.example")
            return None if cookie is None else str(cookie.value)
        value = self._client.cookies.get(COOKIE)
        return None if value is None else str(value)

    def use_token(self, token: str) -> None:
        """Hold ``token`` as the cookie instead (an old cookie a browser kept, say)."""
        if self.framework == "flask":
            self._client.set_cookie(COOKIE, token, domain="app.example", secure=True)
        else:
            self._client.cookies.set(COOKIE, token, domain="app.example")

    def _send(self, method: str, path: str, form: dict[str, str], headers: dict[str, str]) -> Answer:
        if self.framework == "flask":
            response = self._client.open(path, method=method, data=form, headers=headers, base_url=BASE)
            body = response.get_json(silent=True)
            return Answer(response.status_code, body, response.headers.get("Set-Cookie"))
        # JSON for Starlette: its form parser needs python-multipart, which nothing else needs.
        body_json = form if method == "POST" else None
        response = self._client.request(method, path, json=body_json, headers=headers)
        try:
            body = response.json()
        except ValueError:
            body = None
        return Answer(response.status_code, body, response.headers.get("set-cookie"))


def flashed_messages(answer: Answer) -> list[str]:
    """The messages of a ``/flashes`` answer, whichever framework's shape they came in."""
    return [item[1] if isinstance(item, list) else item["message"] for item in answer.json["flashes"]]


AppFactory = Callable[..., Any]


def app_factory(framework: str) -> AppFactory:
    """``session_data_apps.flask_app`` or ``starlette_app``."""
    from tests.web import session_data_apps

    factory: AppFactory = getattr(session_data_apps, f"{framework}_app")
    return factory


def browser(framework: str, sessions: PlatformSessions, **options: Any) -> Browser:
    """A browser on a fresh app of ``framework`` over ``sessions``."""
    return Browser(framework, app_factory(framework)(sessions, **options))
