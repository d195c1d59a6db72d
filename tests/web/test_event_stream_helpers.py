"""The SSE helpers for Flask and FastAPI, each in its own OS process on one private
redis-server and one SQLite file: a change made through one framework's process reaches a
stream served by the other's within 2 s, and a stream ends with its session.

Flask runs on werkzeug's threaded server, FastAPI on uvicorn (an async endpoint: no thread
per stream). A login through Flask gives a cookie that both processes resolve.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from platform_sessions.entrypoints import bootstrap
from tests.support.ports import free_loopback_port
from tests.web.support import REPOSITORY

WITHIN_S = 2.0
START_TIMEOUT_S = 30.0
ROUTING_KEY = "event-stream-helpers-test-key-0123456789abcdef"
COOKIE = "platform_session"


class App:
    def __init__(self, framework: str, port: int, process: subprocess.Popen[bytes]) -> None:
        self.framework = framework
        self.port = port
        self.process = process

    def request(
        self, method: str, path: str, *, cookie: str = "", csrf: str = "", form: dict[str, str] | None = None
    ) -> http.client.HTTPResponse:
        """``form`` goes as a urlencoded form to Flask, as JSON to FastAPI."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10.0)
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        if csrf:
            headers["X-CSRF-Token"] = csrf
        body = None
        if form is not None and self.framework == "fastapi":
            body = json.dumps(form).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        return connection.getresponse()


def _wait_until_serving(app: App) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            errors = app.process.stderr.read().decode() if app.process.stderr else ""
            pytest.fail(f"the {app.framework} app exited: {errors}")
        try:
            app.request("GET", "/events").read()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the {app.framework} app did not answer within {START_TIMEOUT_S} s")


@pytest.fixture
def storage(redis_server_factory, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    server = redis_server_factory()
    return {"redis_url": server.url, "database_url": f"sqlite:///{tmp_path / 'shared.sqlite3'}"}


@pytest.fixture
def platforms(storage: dict[str, Any]) -> dict[str, str]:
    with bootstrap(**storage, routing_key=ROUTING_KEY) as sessions:
        return {
            name: sessions.connect_platform(
                "alice", name=name, platform_type=name.lower(), instance_url="https://x.example", username="a"
            ).id
            for name in ("Mastodon", "Pixelfed")
        }


@pytest.fixture
def apps(storage: dict[str, str], platforms: dict[str, str]) -> Iterator[dict[str, App]]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PLATFORM_SESSIONS_")
    }
    started: dict[str, App] = {}
    try:
        for framework in ("flask", "fastapi"):
            port = free_loopback_port()
            command = [
                sys.executable,
                "-m",
                "tests.web.live_apps",
                framework,
                str(port),
                storage["redis_url"],
                storage["database_url"],
                ROUTING_KEY,
            ]
            process = subprocess.Popen(
                command, cwd=REPOSITORY, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            started[framework] = App(framework, port, process)
        for app in started.values():
            _wait_until_serving(app)
        yield started
    finally:
        for app in started.values():
            app.process.terminate()
        for app in started.values():
            try:
                app.process.wait(10)
            except subprocess.TimeoutExpired:
                app.process.kill()
                app.process.wait()


def login(flask: App) -> tuple[str, str]:
    response = flask.request("POST", "/login", form={"username": "alice"})
    assert response.status == 200
    cookie = response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    return cookie, json.loads(response.read())["csrf_token"]


def open_stream(app: App, cookie: str) -> http.client.HTTPResponse:
    stream = app.request("GET", "/events", cookie=cookie)
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    return stream


def next_event(stream: http.client.HTTPResponse, deadline: float) -> str | None:
    """The next event's name before ``deadline``; ``None`` at the deadline or the stream's end."""
    sock = stream.fp.raw._sock  # type: ignore[attr-defined]
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            line = stream.readline().decode()
        except TimeoutError:
            return None
        if not line:
            return None
        if line.startswith("event: "):
            return line.removeprefix("event: ").strip()
    return None


def test_a_change_in_one_process_reaches_the_other_frameworks_stream(
    apps: dict[str, App], platforms: dict[str, str]
) -> None:
    for streaming, changing in (("fastapi", "flask"), ("flask", "fastapi")):
        follow_a_change(apps, platforms, streaming, changing)


def follow_a_change(apps: dict[str, App], platforms: dict[str, str], streaming: str, changing: str) -> None:
    cookie, csrf = login(apps["flask"])
    stream = open_stream(apps[streaming], cookie)
    assert stream.readline().startswith(b"retry: ")

    started = time.monotonic()
    switch = apps[changing].request(
        "POST", "/switch", cookie=cookie, csrf=csrf, form={"platform_id": platforms["Pixelfed"]}
    )
    assert switch.status == 200, switch.read()
    assert next_event(stream, started + WITHIN_S) == "PlatformSwitched"

    started = time.monotonic()
    assert apps[changing].request("POST", "/logout", cookie=cookie, csrf=csrf).status == 200
    assert next_event(stream, started + WITHIN_S) == "SessionEnded"
    assert next_event(stream, time.monotonic() + WITHIN_S) is None  # it ended with its session
    assert apps[streaming].request("GET", "/events", cookie=cookie).status == 401


def test_anonymous_streams_are_refused_and_reconnects_get_a_resync_first(apps: dict[str, App]) -> None:
    for app in apps.values():
        response = app.request("GET", "/events")
        assert response.status == 401, app.framework
        assert json.loads(response.read())["error"] == "login_required"
    cookie, _ = login(apps["flask"])
    for app in apps.values():
        connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10.0)
        connection.request("GET", "/events", headers={"Cookie": f"{COOKIE}={cookie}", "Last-Event-ID": "7"})
        stream = connection.getresponse()
        assert next_event(stream, time.monotonic() + WITHIN_S) == "resync", app.framework
        stream.close()
