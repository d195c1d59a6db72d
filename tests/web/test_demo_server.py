"""The demo on its real threaded server: server-sent events over HTTP, and a clean shutdown."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator

import pytest

from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web.demo import DemoServer, DemoSite, build_demo_site
from tests.web.demo_support import DEMO_COOKIE, password_of

DEADLINE_S = 2.0


@pytest.fixture
def site(sessions: PlatformSessions) -> Iterator[DemoSite]:
    demo = build_demo_site(sessions, heartbeat_s=0.2)
    yield demo
    demo.close()


@pytest.fixture
def server(site: DemoSite) -> Iterator[DemoServer]:
    with DemoServer(site.app, before_stop=site.close).start() as running:
        yield running


class Browser:
    """Just enough of a browser: one cookie, requests over real sockets, bounded waits."""

    def __init__(self, server: DemoServer) -> None:
        self.port = server.port
        self.cookie = ""

    def request(self, method: str, path: str, body: dict[str, str] | None = None) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=DEADLINE_S)
        headers = {"Cookie": f"{DEMO_COOKIE}={self.cookie}"} if self.cookie else {}
        encoded = urllib.parse.urlencode(body).encode() if body is not None else None
        if encoded is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=encoded, headers=headers)
        response = connection.getresponse()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookie = header.split(";", 1)[0].split("=", 1)[1]
        return response

    def login(self, site: DemoSite, user: str = "alice") -> None:
        response = self.request("POST", "/login", {"username": user, "password": password_of(site, user)})
        assert response.status == 303
        response.read()

    def state(self) -> dict[str, object]:
        response = self.request("GET", "/api/state")
        assert response.status == 200
        state: dict[str, object] = json.loads(response.read())
        return state


def read_events(stream: http.client.HTTPResponse, until: str) -> list[str]:
    """Event names read from the stream until ``until`` arrives (the socket timeout bounds it)."""
    names = []
    while True:
        line = stream.fp.readline().decode()
        if line.startswith("event: "):
            names.append(line.removeprefix("event: ").strip())
            if names[-1] == until:
                return names
        if not line:
            return names


def test_a_switch_reaches_an_open_event_stream_within_two_seconds(server: DemoServer, site: DemoSite) -> None:
    tab_a = Browser(server)
    tab_a.login(site)
    stream = tab_a.request("GET", "/events")
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert stream.fp.readline().startswith(b"retry: ")

    platforms = tab_a.state()["platforms"]
    assert isinstance(platforms, list)
    pixelfed = next(p["id"] for p in platforms if p["name"] == "Pixelfed")
    page = tab_a.request("GET", "/").read().decode()
    csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
    started = time.monotonic()
    switch = http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE_S)
    switch.request(
        "POST",
        "/api/switch",
        body=json.dumps({"platform_id": pixelfed}),
        headers={
            "Cookie": f"{DEMO_COOKIE}={tab_a.cookie}",
            "X-CSRF-Token": csrf,
            "Content-Type": "application/json",
        },
    )
    assert switch.getresponse().status == 200
    assert read_events(stream, until="PlatformSwitched")[-1] == "PlatformSwitched"
    assert time.monotonic() - started < DEADLINE_S


def test_ending_other_sessions_ends_their_streams(server: DemoServer, site: DemoSite) -> None:
    laptop, phone = Browser(server), Browser(server)
    laptop.login(site)
    phone.login(site)
    stream = phone.request("GET", "/events")
    page = laptop.request("GET", "/sessions").read().decode()
    csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
    assert laptop.request("POST", "/sessions/end-others", {"csrf_token": csrf}).status == 303
    assert read_events(stream, until="UserSessionsEnded")[-1] == "UserSessionsEnded"
    rest = stream.read()  # returns only because the server closed the ended session's stream
    assert rest.startswith(b"data: ")
    assert b"event:" not in rest
    assert phone.request("GET", "/events").status == 401


def test_stopping_the_server_ends_open_streams(site: DemoSite) -> None:
    server = DemoServer(site.app, before_stop=site.close).start()
    browser = Browser(server)
    browser.login(site)
    stream = browser.request("GET", "/events")
    stream.fp.readline()
    assert site.broker is not None
    assert site.broker.listener_count() == 1
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(timeout=5)
    assert not stopper.is_alive()
    deadline = time.monotonic() + DEADLINE_S
    while stream.fp.readline() and time.monotonic() < deadline:
        pass
    assert site.broker.listener_count() == 0
