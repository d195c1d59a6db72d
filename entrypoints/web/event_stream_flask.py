"""The event stream as a Flask view: ``add_event_stream(app, sessions)`` serves ``/events``.

::

    platform_sessions = FlaskPlatformSessions(app, sessions=sessions)
    add_event_stream(app, sessions)            # GET /events: the user's events, live

The view streams the events of the user whose session the middleware resolved (401 without
one), with heartbeats, until that session ends. Serve it threaded (``app.run(threaded=True)``,
gunicorn ``-k gthread``): an open stream holds one thread.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request

from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.event_broker import EventBroker
from platform_sessions.entrypoints.web.event_stream_wsgi import (
    event_broker_for,
    is_reconnect,
    no_live_updates,
    open_event_stream,
)
from platform_sessions.entrypoints.web.refusals import Refusal, login_required
from platform_sessions.entrypoints.web.server_sent_events import DEFAULT_HEARTBEAT_S, EVENT_STREAM_HEADERS
from platform_sessions.entrypoints.web.wsgi import current_session

DEFAULT_RULE = "/events"
DEFAULT_ENDPOINT = "platform_sessions_events"


def event_stream_view(broker: EventBroker | None, *, heartbeat_s: float = DEFAULT_HEARTBEAT_S):  # type: ignore[no-untyped-def]
    """A Flask view function streaming the current session's events from ``broker``."""

    def events() -> Response:
        context = current_session(request.environ)
        if context is None:
            return _refusal(login_required())
        if broker is None:
            return _refusal(no_live_updates())
        stream = open_event_stream(
            broker, context, heartbeat_s=heartbeat_s, reconnected=is_reconnect(request.environ)
        )
        # direct_passthrough: werkzeug hands the frames on as they come, and closes the stream
        # (which releases its listener) when the response is closed, however it ends.
        return Response(stream, status=200, headers=list(EVENT_STREAM_HEADERS), direct_passthrough=True)

    return events


def add_event_stream(
    app: Flask | Blueprint,
    sessions: PlatformSessions,
    rule: str = DEFAULT_RULE,
    *,
    endpoint: str = DEFAULT_ENDPOINT,
    heartbeat_s: float = DEFAULT_HEARTBEAT_S,
    broker: EventBroker | None = None,
) -> EventBroker | None:
    """Register ``GET rule`` on ``app`` (or a blueprint); returns the broker (close it at shutdown).

    The broker follows the facade's publisher: on a Redis storage, the process's one Redis
    subscriber, so the stream carries every worker's events.
    """
    chosen = broker if broker is not None else event_broker_for(sessions)
    app.add_url_rule(rule, endpoint=endpoint, view_func=event_stream_view(chosen, heartbeat_s=heartbeat_s))
    return chosen


def _refusal(refusal: Refusal) -> Response:
    return Response(refusal.body, status=refusal.status.value, headers=refusal.header_list())
