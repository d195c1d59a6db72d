"""A Flask app and a Starlette app that use the framework's own session (``flask.session``,
``request.session``) the way applications written for those frameworks do, on this library.

Both have the same routes, so one set of expectations drives both:

- ``GET /data``: the session's data as JSON (reads only);
- ``POST /data``: sets every form field as a key; ``POST /data/delete``: removes ``key``;
- ``POST /flash`` flashes ``message``; ``GET /flashes`` consumes the flashed messages;
- ``POST /login`` logs ``username`` in through the handle; ``POST /logout`` logs out and flashes;
- (the Flask app reads form bodies, the Starlette one JSON: Starlette's form parser needs a
  package the library does not);
- ``GET /csrf``: the token for unsafe requests (the visitor's, once it has a session);
- ``POST /slow-write``: reads the session, waits at ``barrier`` (when the test gives one), then
  sets ``key``; two of them at once prove that concurrent writes of different keys both stay.

``python -m tests.web.session_data_apps PORT DATABASE_URL ROUTING_KEY BARRIER_DIR`` serves the
Flask app on werkzeug's threaded server in its own process, with a :class:`FileBarrier`, for
the tests that run two such processes on one store.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web import WebSettings

BARRIER_TIMEOUT_S = 10.0


class Barrier(Protocol):
    """What ``/slow-write`` waits at: ``threading.Barrier``, or :class:`FileBarrier`."""

    def wait(self, timeout: float | None = None) -> Any: ...


class FileBarrier:
    """A barrier across processes: each waiter leaves a file in ``directory`` and waits until
    ``parties`` files are there (polled, bounded by the timeout)."""

    def __init__(self, directory: Path, parties: int = 2) -> None:
        self.directory = directory
        self.parties = parties

    def wait(self, timeout: float | None = None) -> None:
        (self.directory / f"{os.getpid()}-{threading.get_ident()}").touch()
        deadline = time.monotonic() + (BARRIER_TIMEOUT_S if timeout is None else timeout)
        while sum(1 for _ in self.directory.iterdir()) < self.parties:
            if time.monotonic() > deadline:
                raise TimeoutError("the other request never reached the barrier")
            time.sleep(0.01)


def flask_app(
    sessions: PlatformSessions, settings: WebSettings | None = None, barrier: Barrier | None = None
) -> Any:
    from flask import Flask, flash, get_flashed_messages, request, session

    from platform_sessions.entrypoints.web.flask_extension import FlaskPlatformSessions

    app = Flask(__name__)
    extension = FlaskPlatformSessions(app, sessions=sessions, settings=settings)

    @app.get("/data")
    def read() -> dict[str, Any]:
        return {"data": dict(session), "permanent": session.permanent}

    @app.post("/data")
    def write() -> dict[str, Any]:
        for key, value in request.form.items():
            if key != "csrf_token":
                session[key] = value
        return {"data": dict(session)}

    @app.post("/data/delete")
    def delete() -> dict[str, Any]:
        session.pop(request.form["key"], None)
        return {"data": dict(session)}

    @app.post("/flash")
    def add_flash() -> dict[str, bool]:
        flash(request.form["message"], "info")
        return {"flashed": True}

    @app.get("/flashes")
    def flashes() -> dict[str, Any]:
        return {"flashes": get_flashed_messages(with_categories=True)}

    @app.post("/login")
    def login() -> dict[str, Any]:
        if request.form.get("permanent") == "no":
            session.permanent = False
        context = extension.handle.start(request.form["username"])
        return {"csrf_token": context.csrf_token, "data": dict(session)}

    @app.post("/logout")
    def logout() -> dict[str, bool]:
        ended = extension.handle.end()
        flash("logged out", "info")
        return {"ended": ended}

    @app.get("/csrf")
    def csrf() -> dict[str, Any]:
        return {"csrf_token": extension.csrf_token}

    @app.post("/slow-write")
    def slow_write() -> dict[str, Any]:
        seen = dict(session)  # read before the other request writes
        if barrier is not None:
            barrier.wait(BARRIER_TIMEOUT_S)
        session[request.form["key"]] = request.form["value"]
        return {"seen": seen}

    return app


def starlette_app(
    sessions: PlatformSessions, settings: WebSettings | None = None, barrier: Barrier | None = None
) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from platform_sessions.entrypoints.web.starlette_integration import add_platform_sessions, session_handle

    async def read(request: Request) -> JSONResponse:
        return JSONResponse({"data": dict(request.session)})

    async def write(request: Request) -> JSONResponse:
        form = await request.json()
        for key, value in form.items():
            if key != "csrf_token":
                request.session[key] = value
        return JSONResponse({"data": dict(request.session)})

    async def delete(request: Request) -> JSONResponse:
        form = await request.json()
        request.session.pop(str(form["key"]), None)
        return JSONResponse({"data": dict(request.session)})

    # Flash messages as Starlette applications keep them: a list under a key of the session.
    async def add_flash(request: Request) -> JSONResponse:
        form = await request.json()
        request.session.setdefault("_messages", []).append({"message": form["message"], "category": "info"})
        return JSONResponse({"flashed": True})

    async def flashes(request: Request) -> JSONResponse:
        return JSONResponse({"flashes": request.session.pop("_messages", [])})

    # The handle's calls block (a store round trip): off the event loop, as the docs ask.
    async def login(request: Request) -> JSONResponse:
        form = await request.json()
        context = await asyncio.to_thread(session_handle(request).start, str(form["username"]))
        return JSONResponse({"csrf_token": context.csrf_token, "data": dict(request.session)})

    async def logout(request: Request) -> JSONResponse:
        ended = await asyncio.to_thread(session_handle(request).end)
        request.session.setdefault("_messages", []).append({"message": "logged out", "category": "info"})
        return JSONResponse({"ended": ended})

    async def csrf(request: Request) -> JSONResponse:
        return JSONResponse({"csrf_token": session_handle(request).csrf_token})

    async def slow_write(request: Request) -> JSONResponse:
        form = await request.json()
        seen = dict(request.session)
        if barrier is not None:
            await asyncio.to_thread(barrier.wait, BARRIER_TIMEOUT_S)
        request.session[str(form["key"])] = form["value"]
        return JSONResponse({"seen": seen})

    app = Starlette(
        routes=[
            Route("/data", read, methods=["GET"]),
            Route("/data", write, methods=["POST"]),
            Route("/data/delete", delete, methods=["POST"]),
            Route("/flash", add_flash, methods=["POST"]),
            Route("/flashes", flashes, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/csrf", csrf, methods=["GET"]),
            Route("/slow-write", slow_write, methods=["POST"]),
        ]
    )
    add_platform_sessions(app, sessions, settings=settings)
    return app


def main(port: int, database_url: str, routing_key: str, barrier_directory: str) -> None:
    from werkzeug.serving import make_server

    from platform_sessions.entrypoints import bootstrap

    with bootstrap(database_url=database_url, routing_key=routing_key) as sessions:
        app = flask_app(sessions, WebSettings(secure=False), FileBarrier(Path(barrier_directory)))
        make_server("127.0.0.1", port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
