"""Server-sent events: domain events as a ``text/event-stream`` a browser's EventSource reads.

Each frame is ``event: <EventName>`` and ``data: <JSON of the event's fields>``. Events carry
public session handles, never tokens or internal ids, and the stream only ever carries the
events of the logged-in user it was opened for.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from datetime import datetime

import attrs

from platform_sessions.domain.events import DomainEvent, SessionEnded, UserSessionsEnded
from platform_sessions.entrypoints.web.event_listener import Closed, Listener

EVENT_STREAM_HEADERS = (
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("X-Accel-Buffering", "no"),  # tell a buffering reverse proxy to pass frames through
)
RECONNECT_AFTER_MS = 1000


def event_data(event: DomainEvent) -> dict[str, object]:
    """The event's fields as JSON-safe values (the user is implied by the stream)."""
    data: dict[str, object] = {"event": event.name}
    for field in attrs.fields(type(event)):
        if field.name == "user_id":
            continue
        value = getattr(event, field.name)
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, datetime):
            value = value.isoformat()
        data[field.name] = value
    return data


def event_frame(event: DomainEvent) -> bytes:
    """One SSE frame for ``event``."""
    payload = json.dumps(event_data(event), separators=(",", ":"))
    return f"event: {event.name}\ndata: {payload}\n\n".encode()


def comment_frame(text: str) -> bytes:
    """An SSE comment: ignored by the browser, but it keeps proxies open and finds dead clients."""
    return f": {text}\n\n".encode()


def ends_session(event: DomainEvent, session_handle: str) -> bool:
    """Whether ``event`` means the session ``session_handle`` is over."""
    if isinstance(event, SessionEnded):
        return event.session_handle == session_handle
    if isinstance(event, UserSessionsEnded):
        return event.kept_session_handle != session_handle
    return False


class EventStream:
    """One browser's stream, as a WSGI response body.

    It yields frames until the session ends, the listener closes (server shutdown, or a client
    too slow to keep up) or the client goes away (noticed when a heartbeat cannot be written).
    ``close()``, which WSGI servers call in every case, releases the listener even if the
    stream never started.
    """

    def __init__(self, listener: Listener, *, session_handle: str, heartbeat_s: float = 10.0) -> None:
        self._listener = listener
        self._session_handle = session_handle
        self._heartbeat_s = heartbeat_s

    def __iter__(self) -> Iterator[bytes]:
        yield f"retry: {RECONNECT_AFTER_MS}\n\n".encode()
        yield comment_frame("connected")
        while True:
            item = self._listener.next_event(self._heartbeat_s)
            if isinstance(item, Closed):
                return
            if item is None:
                yield comment_frame("keep-alive")
                continue
            yield event_frame(item)
            if ends_session(item, self._session_handle):
                # Nothing more for a session that is over; its page goes to the login form.
                return

    def close(self) -> None:
        """Stop listening."""
        self._listener.close()
