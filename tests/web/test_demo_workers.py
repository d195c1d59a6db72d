"""``platform-sessions demo --workers 2`` as real OS processes on a private redis-server and a
shared SQLite file: a switch and a logout made through one worker reach an event stream served
by the other within 2 s, and streams survive a Redis SIGKILL + restart with a resync.

The workers share one listening socket, so the kernel picks which one answers a connection
(every response names it in ``X-Demo-Worker``). The test therefore holds a stream on *each*
worker before it changes anything: whichever worker serves the change, one of the streams is
in the other process.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.demo_support import DEMO_COOKIE

WITHIN_S = 2.0  # the promise
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
MAX_CONNECTIONS_TO_COVER_WORKERS = 60
WORKER_HEADER = "X-Demo-Worker"


class RunningDemo:
    def __init__(self, process: subprocess.Popen[bytes], port: int, passwords: dict[str, str]) -> None:
        self.process = process
        self.port = port
        self.passwords = passwords


def _read_introduction(process: subprocess.Popen[bytes]) -> tuple[int, dict[str, str]]:
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout

    def pump() -> None:
        for raw in stdout:
            lines.put(raw.decode())
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    text = ""
    port = None
    passwords: dict[str, str] = {}
    while time.monotonic() < deadline and not ("bob" in passwords and port):
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if not line:
            break
        text += line
        found = re.search(r"open http://127\.0\.0\.1:(\d+)/", line)
        if found:
            port = int(found.group(1))
        credential = re.match(r"\s+(\w+)\s+password: (\S+)", line)
        if credential:
            passwords[credential.group(1)] = credential.group(2)
    assert port, f"the demo did not start:\n{text}"
    assert "alice" in passwords, f"the demo did not print the passwords:\n{text}"
    return port, passwords


@pytest.fixture
def redis_server(redis_server_factory):  # type: ignore[no-untyped-def]
    return redis_server_factory()


@pytest.fixture
def demo(redis_server, tmp_path: Path) -> Iterator[RunningDemo]:  # type: ignore[no-untyped-def]
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PLATFORM_SESSIONS_")
    }
    command = [
        sys.executable,
        "-m",
        "platform_sessions.entrypoints.cli",
        "demo",
        "--workers",
        "2",
        "--redis-url",
        redis_server.url,
        "--database-url",
        f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "--port",
        "0",
        "--no-browser",
    ]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        port, passwords = _read_introduction(process)
        yield RunningDemo(process, port, passwords)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("the demo did not stop on SIGTERM")
        errors = process.stderr.read().decode() if process.stderr else ""
        assert "Traceback" not in errors, errors


class Tab:
    """One browser's cookie, over fresh connections (the demo's server speaks HTTP/1.0)."""

    def __init__(self, demo: RunningDemo) -> None:
        self.port = demo.port
        self.cookie = ""
        self.csrf = ""

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        json_body: dict[str, str] | None = None,
        timeout_s: float = 10.0,
    ) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
        headers = {"Cookie": f"{DEMO_COOKIE}={self.cookie}"} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if method != "GET" and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookie = header.split(";", 1)[0].split("=", 1)[1]
        return response

    def login(self, demo: RunningDemo, user: str = "alice") -> None:
        response = self.request("POST", "/login", form={"username": user, "password": demo.passwords[user]})
        assert response.status == 303, response.read()
        response.read()
        page = self.request("GET", "/").read().decode()
        self.csrf = page.split('name="csrf-token" content="')[1].split('"')[0]

    def platform_id(self, name: str) -> str:
        state = json.loads(self.request("GET", "/api/state").read())
        return str(next(p["id"] for p in state["platforms"] if p["name"] == name))


class Stream:
    """An open ``/events`` response and the worker process serving it."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        assert response.status == 200
        self.response = response
        self.worker = response.headers[WORKER_HEADER]

    def next_event(self, deadline: float) -> str | None:
        """The name of the next event before ``deadline`` (monotonic), else ``None``."""
        while time.monotonic() < deadline:
            sock = self.response.fp.raw._sock  # type: ignore[attr-defined]
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                line = self.response.fp.readline().decode()
            except TimeoutError:
                return None
            if not line:
                return None
            if line.startswith("event: "):
                return line.removeprefix("event: ").strip()
        return None

    def wait_for(self, name: str, deadline: float) -> bool:
        while True:
            received = self.next_event(deadline)
            if received is None:
                return False
            if received == name:
                return True


def streams_on_every_worker(tab: Tab, workers: int = 2) -> dict[str, Stream]:
    """Open streams until one is served by each worker; the extra ones are closed."""
    streams: dict[str, Stream] = {}
    for _ in range(MAX_CONNECTIONS_TO_COVER_WORKERS):
        stream = Stream(tab.request("GET", "/events", timeout_s=30.0))
        if stream.worker in streams:
            stream.response.close()
            continue
        assert stream.response.fp.readline().startswith(b"retry: ")
        streams[stream.worker] = stream
        if len(streams) == workers:
            return streams
    pytest.fail(f"{MAX_CONNECTIONS_TO_COVER_WORKERS} connections never reached {workers} workers")


def test_a_switch_and_a_logout_through_one_worker_reach_a_stream_on_the_other(demo: RunningDemo) -> None:
    tab = Tab(demo)
    tab.login(demo)
    streams = streams_on_every_worker(tab)
    pixelfed = tab.platform_id("Pixelfed")

    started = time.monotonic()
    switch = tab.request("POST", "/api/switch", json_body={"platform_id": pixelfed})
    assert switch.status == 200, switch.read()
    switched_by = switch.headers[WORKER_HEADER]
    switch.read()
    for worker, stream in streams.items():
        assert stream.wait_for("PlatformSwitched", started + WITHIN_S), (
            f"the switch made by worker {switched_by} did not reach worker {worker} within {WITHIN_S} s"
        )

    started = time.monotonic()
    logout = tab.request("POST", "/logout")
    assert logout.status == 303
    logged_out_by = logout.headers[WORKER_HEADER]
    for worker, stream in streams.items():
        assert stream.wait_for("SessionEnded", started + WITHIN_S), (
            f"the logout made by worker {logged_out_by} did not reach worker {worker} within {WITHIN_S} s"
        )
        assert stream.next_event(time.monotonic() + WITHIN_S) is None  # the stream ended with its session
    # Each change was made in one process and reached a stream in another.
    assert set(streams) - {switched_by}
    assert set(streams) - {logged_out_by}


def test_streams_resync_after_a_redis_restart_and_then_get_the_next_events(
    demo: RunningDemo, redis_server
) -> None:  # type: ignore[no-untyped-def]
    tab = Tab(demo)
    tab.login(demo)
    streams = streams_on_every_worker(tab)
    mastodon, pixelfed = tab.platform_id("Mastodon"), tab.platform_id("Pixelfed")

    redis_server.kill()  # SIGKILL: every subscriber's connection dies, nothing is persisted
    redis_server.start()  # empty, on the same port
    restarted = time.monotonic()
    for worker, stream in streams.items():
        # The subscriber reconnects (backoff: 0.1 s doubling, at most 2 s) and says so.
        assert stream.wait_for("resync", restarted + 10.0), f"no resync on worker {worker}"

    for target, name in ((pixelfed, "Pixelfed"), (mastodon, "Mastodon")):
        started = time.monotonic()
        switch = tab.request("POST", "/api/switch", json_body={"platform_id": target})
        assert switch.status == 200, switch.read()
        switch.read()
        for worker, stream in streams.items():
            assert stream.wait_for("PlatformSwitched", started + WITHIN_S), (
                f"the switch to {name} did not reach worker {worker} after the restart"
            )
    for stream in streams.values():
        stream.response.close()
