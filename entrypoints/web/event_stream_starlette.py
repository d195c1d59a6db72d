"""The event stream as a Starlette / FastAPI route: ``add_event_stream(app, sessions)``.

::

    app = FastAPI()
    add_platform_sessions(app, sessions)
    add_event_stream(app, sessions)            # GET /events: the user's events, live

The endpoint is async and waits on the event loop (the listener is fed from other threads
through ``call_soon_threadsafe``), so an open stream holds no thread: a thousand tabs are a
thousand small coroutines. It streams the events of the user whose session the middleware
resolved (401 without one), with heartbeats, until that session ends or the client goes away.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.event_broker import EventBroker
from platform_sessions.entrypoints.web.event_stream_wsgi import (
    event_broker_for,
    is_reconnect,
    no_live_updates,
)
from platform_sessions.entrypoints.web.refusals import Refusal, login_required
from platform_sessions.entrypoints.web.server_sent_events import (
    DEFAULT_HEARTBEAT_S,
    EVENT_STREAM_HEADERS,
    async_event_frames,
)
from platform_sessions.entrypoints.web.starlette_integration import current_session

DEFAULT_PATH = "/events"

Endpoint = Callable[[Request], Awaitable[Response]]


def event_stream_endpoint(
    broker: EventBroker | None, *, heartbeat_s: float = DEFAULT_HEARTBEAT_S
) -> Endpoint:
    """An async endpoint streaming the current session's events from ``broker``."""

    async def events(request: Request) -> Response:
        context = current_session(request)
        if context is None:
            return _refusal(login_required())
        if broker is None:
            return _refusal(no_live_updates())
        listener = broker.listen_async(context.logged_in_user_id)
        frames = async_event_frames(
            listener,
            session_handle=context.handle,
            heartbeat_s=heartbeat_s,
            reconnected=is_reconnect(request.headers),
        )
        headers = dict(EVENT_STREAM_HEADERS)
        media_type = headers.pop("Content-Type")
        return StreamingResponse(frames, headers=headers, media_type=media_type)

    return events


def add_event_stream(
    app: Starlette,
    sessions: PlatformSessions,
    path: str = DEFAULT_PATH,
    *,
    heartbeat_s: float = DEFAULT_HEARTBEAT_S,
    broker: EventBroker | None = None,
) -> EventBroker | None:
    """Add ``GET path`` to ``app``; returns the broker (close it at shutdown to end open streams)."""
    chosen = broker if broker is not None else event_broker_for(sessions)
    app.add_route(path, event_stream_endpoint(chosen, heartbeat_s=heartbeat_s), methods=["GET"])
    return chosen


def _refusal(refusal: Refusal) -> Response:
    return Response(refusal.body, status_code=refusal.status.value, headers=dict(refusal.header_list()))
