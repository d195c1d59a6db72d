"""The event stream as a WSGI application: ``/events`` for any WSGI framework (and the demo).

Authenticated by the session the :class:`SessionMiddleware` resolved (401 without one), it
streams that user's events as ``text/event-stream`` with heartbeats, and ends when that session
ends. Each open stream holds one server thread while it is open (as any WSGI response does):
serve it from a threaded server (the demo's, gunicorn's ``gthread`` worker, werkzeug's
``threaded=True``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

from platform_sessions.domain.context import SessionContext
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.event_broker import EventBroker, event_source_of
from platform_sessions.entrypoints.web.refusals import Refusal, login_required
from platform_sessions.entrypoints.web.server_sent_events import (
    DEFAULT_HEARTBEAT_S,
    EVENT_STREAM_HEADERS,
    EventStream,
)
from platform_sessions.entrypoints.web.wsgi import current_session, refuse


def event_broker_for(sessions: PlatformSessions, *, listener_capacity: int = 100) -> EventBroker | None:
    """A broker on the facade's publisher, or ``None`` if it cannot be followed (no live updates)."""
    source = event_source_of(sessions.events)
    return EventBroker(source, listener_capacity=listener_capacity) if source is not None else None


def no_live_updates() -> Refusal:
    """501: this storage's publisher cannot be followed."""
    return Refusal(
        HTTPStatus.NOT_IMPLEMENTED, "no_live_updates", "this storage's publisher cannot be subscribed to"
    )


def is_reconnect(headers: Mapping[str, Any]) -> bool:
    """Whether the browser says it is reconnecting (it sends the last id it saw).

    ``headers`` is a WSGI environ or a framework's (case-insensitive) header mapping.
    """
    return bool(headers.get("HTTP_LAST_EVENT_ID") or headers.get("last-event-id"))


def open_event_stream(
    broker: EventBroker, context: SessionContext, *, heartbeat_s: float, reconnected: bool
) -> EventStream:
    """The stream of ``context``'s user, for ``context``'s session."""
    listener = broker.listen(context.logged_in_user_id)
    return EventStream(
        listener, session_handle=context.handle, heartbeat_s=heartbeat_s, reconnected=reconnected
    )


class WsgiEventStream:
    """A WSGI application serving the event stream; mount it at ``/events``, inside the middleware."""

    def __init__(self, broker: EventBroker | None, *, heartbeat_s: float = DEFAULT_HEARTBEAT_S) -> None:
        self.broker = broker
        self._heartbeat_s = heartbeat_s

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        context = current_session(environ)
        if context is None:
            return refuse(login_required(), start_response)
        if self.broker is None:
            return refuse(no_live_updates(), start_response)
        stream = open_event_stream(
            self.broker, context, heartbeat_s=self._heartbeat_s, reconnected=is_reconnect(environ)
        )
        start_response("200 OK", list(EVENT_STREAM_HEADERS))
        return stream
