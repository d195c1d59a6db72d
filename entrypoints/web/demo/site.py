"""The demo assembled: seeded data, the app, the session middleware, and live updates."""

from __future__ import annotations

import logging
from wsgiref.types import WSGIApplication

from attrs import frozen

from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.demo.app import DemoApp
from platform_sessions.entrypoints.web.demo.seed import Credential, seed_demo
from platform_sessions.entrypoints.web.event_broker import AnyEventSource, EventBroker, event_source_of
from platform_sessions.entrypoints.web.settings import WebSettings
from platform_sessions.entrypoints.web.wsgi import SessionMiddleware

logger = logging.getLogger(__name__)

# The demo serves plain HTTP on 127.0.0.1, so its cookie cannot be Secure (nor __Host-).
DEMO_SETTINGS = WebSettings(cookie_name="demo_session", secure=False)


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
    sessions: PlatformSessions, *, heartbeat_s: float = 10.0, event_source: AnyEventSource | None = None
) -> DemoSite:
    """Seed users and platforms into ``sessions`` and build the demo application.

    Live updates come from ``event_source``, by default the facade's publisher if it can be
    subscribed to (a storage whose publisher cannot, e.g. one publishing to Redis, passes its
    subscriber here).
    """
    accounts, credentials = seed_demo(sessions)
    source = event_source if event_source is not None else event_source_of(sessions.events)
    if source is None:
        logger.warning("the event publisher cannot be subscribed to: no live updates between tabs")
    broker = EventBroker(source) if source is not None else None
    app = SessionMiddleware(
        DemoApp(sessions, accounts, broker, heartbeat_s=heartbeat_s),
        sessions,
        settings=DEMO_SETTINGS,
        # The login form replaces whatever session the browser had, so it needs no token;
        # it is also the demo's example of a per-route opt-out.
        csrf_exempt_paths={"/login"},
    )
    return DemoSite(app=app, credentials=credentials, broker=broker)
