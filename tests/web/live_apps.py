"""A small Flask app and a small FastAPI app on one shared storage, each with the library's
event stream helper; run as separate OS processes by tests/web/test_event_stream_helpers.py:

    python -m tests.web.live_apps flask|fastapi PORT REDIS_URL DATABASE_URL ROUTING_KEY

No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations at
definition time, and ``Handle`` is local to the function that builds the app.
"""

import sys
from typing import Annotated, Any

from platform_sessions.entrypoints import PlatformSessions, bootstrap
from platform_sessions.entrypoints.web import WebSettings

SETTINGS = WebSettings(secure=False)  # plain HTTP on 127.0.0.1


def flask_app(sessions: PlatformSessions) -> Any:
    from flask import Flask, request

    from platform_sessions.entrypoints.web.event_stream_flask import add_event_stream
    from platform_sessions.entrypoints.web.flask_extension import FlaskPlatformSessions

    app = Flask(__name__)
    extension = FlaskPlatformSessions(app, sessions=sessions, settings=SETTINGS)
    add_event_stream(app, sessions, heartbeat_s=0.5)

    @app.post("/login")
    def login() -> dict[str, str]:
        context = extension.handle.start(request.form["username"])
        return {"csrf_token": context.csrf_token}

    @app.post("/switch")
    @extension.require_session
    def switch() -> dict[str, object]:
        outcome = extension.handle.switch_platform(request.form["platform_id"])
        return {"changed": outcome.changed}

    @app.post("/logout")
    def logout() -> dict[str, bool]:
        extension.handle.end()
        return {"ended": True}

    return app


def fastapi_app(sessions: PlatformSessions) -> Any:
    from fastapi import Depends, FastAPI
    from pydantic import BaseModel

    from platform_sessions.entrypoints.web import SessionHandle
    from platform_sessions.entrypoints.web.event_stream_starlette import add_event_stream
    from platform_sessions.entrypoints.web.starlette_integration import add_platform_sessions, session_handle

    app = FastAPI()
    add_platform_sessions(app, sessions, settings=SETTINGS)
    add_event_stream(app, sessions, heartbeat_s=0.5)
    Handle = Annotated[SessionHandle, Depends(session_handle)]  # noqa: N806  (a type alias)

    class Switch(BaseModel):
        platform_id: str

    @app.post("/switch")
    def switch(handle: Handle, body: Switch) -> dict[str, object]:
        return {"changed": handle.switch_platform(body.platform_id).changed}

    @app.post("/logout")
    def logout(handle: Handle) -> dict[str, bool]:
        handle.end()
        return {"ended": True}

    return app


def main(framework: str, port: int, redis_url: str, database_url: str, routing_key: str) -> None:
    with bootstrap(redis_url=redis_url, database_url=database_url, routing_key=routing_key) as sessions:
        if framework == "flask":
            from werkzeug.serving import make_server

            server = make_server("127.0.0.1", port, flask_app(sessions), threaded=True)
            print("serving", flush=True)
            server.serve_forever()
        else:
            import uvicorn

            print("serving", flush=True)
            uvicorn.run(fastapi_app(sessions), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
