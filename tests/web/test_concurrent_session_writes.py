"""Two requests of one session at once, on a real server (werkzeug's threaded one for Flask,
uvicorn for Starlette), and in two server processes on one SQLite file, each changing a
different key of ``flask.session`` / ``request.session``: both changes stay, because only the
changed keys are written and the store merges them key by key (a whole-dict session would
lose one of them). And a flash message crosses from one worker process to the other.

The app makes both requests read the session before either writes (a barrier), which is the
interleaving that loses an update with a cookie or whole-blob session.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from platform_sessions.entrypoints import PlatformSessions, bootstrap
from platform_sessions.entrypoints.web import WebSettings
from tests.support.ports import free_loopback_port
from tests.web.browsers import FRAMEWORKS, app_factory
from tests.web.support import REPOSITORY

SETTINGS = WebSettings(secure=False)  # plain HTTP on 127.0.0.1
COOKIE = SETTINGS.cookie_key
TIMEOUT_S = 10.0
START_TIMEOUT_S = 30.0
ROUTING_KEY = "concurrent-session-writes-test-key-0123456789"


def serve(framework: str, app: Any) -> Iterator[str]:
    """Serve ``app`` on a loopback port in a thread of this process; yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if framework == "flask":
        from werkzeug.serving import make_server

        listener.close()
        server: Any = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.shutdown()
            thread.join(TIMEOUT_S)
        return
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT_S
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(TIMEOUT_S)
        listener.close()


@pytest.fixture(params=FRAMEWORKS)
def served(request: pytest.FixtureRequest, sessions: PlatformSessions) -> Iterator[tuple[str, str]]:
    barrier = threading.Barrier(2)
    app = app_factory(request.param)(sessions, settings=SETTINGS, barrier=barrier)
    for base in serve(request.param, app):
        yield request.param, base


def post(
    framework: str, base: str, path: str, fields: dict[str, str], *, cookie: str | None, csrf: str | None
) -> httpx.Response:
    headers = {"Sec-Fetch-Site": "same-origin", **({"X-CSRF-Token": csrf} if csrf else {})}
    if cookie:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    body: dict[str, Any] = {"data": fields} if framework == "flask" else {"json": fields}
    return httpx.post(f"{base}{path}", headers=headers, timeout=TIMEOUT_S, **body)


def test_two_requests_writing_different_keys_at_once_both_keep_their_key(
    served: tuple[str, str], sessions: PlatformSessions
) -> None:
    framework, base = served
    login = post(framework, base, "/login", {"username": "alice"}, cookie=None, csrf=None)
    assert login.status_code == 200
    cookie, csrf = login.cookies[COOKIE], login.json()["csrf_token"]
    assert post(framework, base, "/data", {"first": "1"}, cookie=cookie, csrf=csrf).status_code == 200
    before = sessions.resolve(cookie).session.version

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(
            pool.map(
                lambda key: post(
                    framework, base, "/slow-write", {"key": key, "value": key}, cookie=cookie, csrf=csrf
                ),
                ["a", "b"],
            )
        )
    assert [answer.status_code for answer in answers] == [200, 200]
    # Both read before either wrote: each saw neither key.
    assert [answer.json()["seen"] for answer in answers] == [{"first": "1"}, {"first": "1"}]
    stored = sessions.resolve(cookie).session
    assert stored.data == {"first": "1", "a": "a", "b": "b"}
    assert stored.version == before + 2  # one versioned write each


def test_a_flash_made_by_one_process_is_shown_once_by_the_other(two_processes: tuple[str, list[str]]) -> None:
    _, (first, second) = two_processes
    login = post("flask", first, "/login", {"username": "alice"}, cookie=None, csrf=None)
    cookie, csrf = login.cookies[COOKIE], login.json()["csrf_token"]
    assert post("flask", first, "/flash", {"message": "saved"}, cookie=cookie, csrf=csrf).status_code == 200
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    shown = httpx.get(f"{second}/flashes", headers=headers, timeout=TIMEOUT_S).json()["flashes"]
    assert shown == [["info", "saved"]]
    assert httpx.get(f"{first}/flashes", headers=headers, timeout=TIMEOUT_S).json()["flashes"] == []


@pytest.fixture
def two_processes(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """Two OS processes serving the Flask app on one SQLite file; its URL and their base URLs."""
    database_url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PLATFORM_SESSIONS_")
    }
    processes: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for _ in range(2):
            port = free_loopback_port()
            command = [sys.executable, "-m", "tests.web.session_data_apps", str(port), database_url]
            processes.append(
                subprocess.Popen(
                    [*command, ROUTING_KEY, str(barrier)],
                    cwd=REPOSITORY,
                    env=environment,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for process, base in zip(processes, bases, strict=True):
            wait_until_serving(process, base)
        yield database_url, bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_serving(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"the app process exited: {errors}")
        try:
            httpx.get(f"{base}/data", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"the app process did not answer within {START_TIMEOUT_S} s")


def test_two_server_processes_writing_different_keys_of_one_session_at_once_keep_both(
    two_processes: tuple[str, list[str]],
) -> None:
    database_url, (first, second) = two_processes
    login = post("flask", first, "/login", {"username": "alice"}, cookie=None, csrf=None)
    assert login.status_code == 200
    cookie, csrf = login.cookies[COOKIE], login.json()["csrf_token"]
    assert post("flask", second, "/data", {"first": "1"}, cookie=cookie, csrf=csrf).status_code == 200
    with bootstrap(database_url=database_url, routing_key=ROUTING_KEY) as sessions:
        before = sessions.resolve(cookie).session.version

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(
            pool.map(
                lambda base_and_key: post(
                    "flask",
                    base_and_key[0],
                    "/slow-write",
                    {"key": base_and_key[1], "value": base_and_key[1]},
                    cookie=cookie,
                    csrf=csrf,
                ),
                [(first, "a"), (second, "b")],
            )
        )
    assert [answer.status_code for answer in answers] == [200, 200]
    assert [answer.json()["seen"] for answer in answers] == [{"first": "1"}, {"first": "1"}]
    with bootstrap(database_url=database_url, routing_key=ROUTING_KEY) as sessions:
        stored = sessions.resolve(cookie).session
    assert stored.data == {"first": "1", "a": "a", "b": "b"}
    assert stored.version == before + 2  # one versioned write each
