"""Server-sent events: domain events as a ``text/event-stream`` a browser's EventSource reads.

Each frame is ``id: <n>``, ``event: <EventName>`` and ``data: <JSON of the event's fields>``.
Events carry public session handles, never tokens or internal ids, and the stream only ever
carries the events of the logged-in user it was opened for.

**Reconnects and gaps.** Nothing keeps a log of past events, so an ``id`` is no position to
replay from: the stream sets one from its first bytes on, only so that a browser that
reconnects sends ``Last-Event-ID``. A stream opened with that header (a reconnect: the server
restarted, a proxy cut it, the page fell behind) starts with ``event: resync``, as does any
stream whose process may have missed events (its Redis subscriber lost its connection and got it
back): the page re-reads its state then, so a missed switch or logout never leaves it stale.
``retry:`` asks the browser to reconnect after a second.

:class:`StreamFrames` decides every byte (sans I/O); :class:`EventStream` writes them as a WSGI
body, :func:`async_event_frames` as an async iterator for ASGI.
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import attrs

from platform_sessions.domain.events import DomainEvent, SessionEnded, UserSessionsEnded
from platform_sessions.entrypoints.web.event_listener import AsyncListener, Closed, Item, Listener, Resync

EVENT_STREAM_HEADERS = (
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("X-Accel-Buffering", "no"),  # tell a buffering reverse proxy to pass frames through
)
RECONNECT_AFTER_MS = 1000
DEFAULT_HEARTBEAT_S = 10.0
RESYNC_EVENT = "resync"
LAST_EVENT_ID_HEADER = "Last-Event-ID"


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


def resync_frame(event_id: int) -> bytes:
    """Tells the page that events may have been missed: re-read the state."""
    return f'id: {event_id}\nevent: {RESYNC_EVENT}\ndata: {{"event":"{RESYNC_EVENT}"}}\n\n'.encode()


class StreamFrames:
    """The bytes of one stream, decided without I/O: its opening, each item, when it is over."""

    def __init__(self, session_handle: str, *, reconnected: bool = False) -> None:
        self._session_handle = session_handle
        self._reconnected = reconnected
        self._next_id = 1
        self.finished = False

    def opening(self) -> bytes:
        """``retry``, an ``id`` (so that a reconnect says so), a comment, and a resync if reconnected."""
        frames = [f"retry: {RECONNECT_AFTER_MS}\nid: 0\n\n".encode(), comment_frame("connected")]
        if self._reconnected:
            frames.append(resync_frame(self._take_id()))
        return b"".join(frames)

    def frame(self, item: Item | None) -> bytes:
        """The frame for what the listener gave (``None``: quiet, a heartbeat); b"" once over."""
        if self.finished or isinstance(item, Closed):
            self.finished = True
            return b""
        if item is None:
            return comment_frame("keep-alive")
        if isinstance(item, Resync):
            return resync_frame(self._take_id())
        frame = f"id: {self._take_id()}\n".encode() + event_frame(item)
        if ends_session(item, self._session_handle):
            # Nothing more for a session that is over; its page goes to the login form.
            self.finished = True
        return frame

    def _take_id(self) -> int:
        taken, self._next_id = self._next_id, self._next_id + 1
        return taken


class EventStream:
    """One browser's stream, as a WSGI response body.

    It yields frames until the session ends, the listener closes (server shutdown, or a client
    too slow to keep up) or the client goes away (noticed when a heartbeat cannot be written).
    ``close()``, which WSGI servers call in every case, releases the listener even if the
    stream never started. ``reconnected`` (the request had ``Last-Event-ID``) starts it with a
    resync.
    """

    def __init__(
        self,
        listener: Listener,
        *,
        session_handle: str,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        reconnected: bool = False,
    ) -> None:
        self._listener = listener
        self._frames = StreamFrames(session_handle, reconnected=reconnected)
        self._heartbeat_s = heartbeat_s

    def __iter__(self) -> Iterator[bytes]:
        yield self._frames.opening()
        while True:
            frame = self._frames.frame(self._listener.next_event(self._heartbeat_s))
            if frame:
                yield frame
            if self._frames.finished:
                return

    def close(self) -> None:
        """Stop listening."""
        self._listener.close()


async def async_event_frames(
    listener: AsyncListener,
    *,
    session_handle: str,
    heartbeat_s: float = DEFAULT_HEARTBEAT_S,
    reconnected: bool = False,
) -> AsyncIterator[bytes]:
    """The same stream for ASGI: it waits on the event loop, never in a thread.

    The listener is closed when the iteration ends, however it ends (the client went away and
    the server cancelled it, included).
    """
    frames = StreamFrames(session_handle, reconnected=reconnected)
    try:
        yield frames.opening()
        while not frames.finished:
            frame = frames.frame(await listener.next_item(heartbeat_s))
            if frame:
                yield frame
    finally:
        listener.close()
