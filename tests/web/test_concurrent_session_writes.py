"""Two requests of one session at once, on a real server (werkzeug's threaded one for Flask,
uvicorn for Starlette), each changing a different key of ``flask.session`` /
``request.session``: both changes stay, because only the changed keys are written and the
store merges them key by key (a whole-dict session would lose one of them).

The app makes both requests read the session before either writes (a barrier), which is the
interleaving that loses an update with a cookie or whole-blob session.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web import WebSettings
from tests.web.browsers import FRAMEWORKS, app_factory

SETTINGS = WebSettings(secure=False)  # plain HTTP on 127.0.0.1
COOKIE = SETTINGS.cookie_key
TIMEOUT_S = 10.0


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
