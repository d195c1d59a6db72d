"""The demo assembled: seeded data, the app, the session middleware, and live updates."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from attrs import frozen

from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.demo.accounts import DemoAccounts
from platform_sessions.entrypoints.web.demo.app import DemoApp
from platform_sessions.entrypoints.web.demo.seed import Credential, seed_demo
from platform_sessions.entrypoints.web.event_broker import AnyEventSource, EventBroker, event_source_of
from platform_sessions.entrypoints.web.settings import WebSettings
from platform_sessions.entrypoints.web.wsgi import SessionMiddleware

logger = logging.getLogger(__name__)

# The demo serves plain HTTP on 127.0.0.1, so its cookie cannot be Secure (nor __Host-).
DEMO_SETTINGS = WebSettings(cookie_name="demo_session", secure=False)
WORKER_HEADER = "X-Demo-Worker"

Seeded = tuple[DemoAccounts, list[Credential]]


class _NamesItsWorker:
    """Adds ``X-Demo-Worker: <pid>`` to every response: which worker process answered."""

    def __init__(self, app: WSGIApplication) -> None:
        self._app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
            return start_response(status, [*headers, (WORKER_HEADER, str(os.getpid()))], exc_info)  # type: ignore[arg-type]

        return self._app(environ, start)  # type: ignore[arg-type]


@frozen
class DemoSite:
    """The demo's WSGI application and what it was seeded with."""

    app: WSGIApplication
    credentials: list[Credential]
    broker: EventBroker | None

    def close(self) -> None:
        """End the open event streams (before the server stops)."""
        if self.broker is not None:
            self.broker.close()


def build_demo_site(
    sessions: PlatformSessions,
    *,
    heartbeat_s: float = 10.0,
    event_source: AnyEventSource | None = None,
    seeded: Seeded | None = None,
) -> DemoSite:
    """Seed users and platforms into ``sessions`` and build the demo application.

    Live updates come from ``event_source``, by default the facade's publisher if it can be
    subscribed to (on a Redis server, the Redis storages' event bus: every worker's events).
    ``seeded``: accounts already seeded (by the parent of forked workers, so that every worker
    knows the same passwords).
    """
    accounts, credentials = seeded if seeded is not None else seed_demo(sessions)
    source = event_source if event_source is not None else event_source_of(sessions.events)
    if source is None:
        logger.warning("the event publisher cannot be subscribed to: no live updates between tabs")
    broker = EventBroker(source) if source is not None else None
    app = _NamesItsWorker(
        SessionMiddleware(
            DemoApp(sessions, accounts, broker, heartbeat_s=heartbeat_s),
            sessions,
            settings=DEMO_SETTINGS,
            # The login form replaces whatever session the browser had, so it needs no token;
            # it is also the demo's example of a per-route opt-out.
            csrf_exempt_paths={"/login"},
        )
    )
    return DemoSite(app=app, credentials=credentials, broker=broker)
