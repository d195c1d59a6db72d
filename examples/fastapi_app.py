"""platform-sessions in a FastAPI application: the middleware and a dependency giving the context.

Run it (plain HTTP on 127.0.0.1, so the cookie cannot be Secure):

    pip install -e ".[fastapi]"
    python examples/fastapi_app.py      # then: curl -i -X POST -H 'content-type: application/json' \
                                        #   -d '{"username": "alice"}' http://127.0.0.1:8001/login

In production keep the default ``WebSettings()``: a Secure ``__Host-`` cookie, served over HTTPS.
The same dependencies work in plain Starlette (``require_session(request)``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel

from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import PlatformInactive, PlatformNotFound
from platform_sessions.entrypoints import PlatformSessions, bootstrap
from platform_sessions.entrypoints.web import SessionHandle, WebSettings
from platform_sessions.entrypoints.web.starlette_integration import (
    add_platform_sessions,
    csrf_exempt,
    require_session,
    session_handle,
)

Session = Annotated[SessionContext, Depends(require_session)]  # 401 when anonymous
Handle = Annotated[SessionHandle, Depends(session_handle)]


class Login(BaseModel):
    username: str


class Switch(BaseModel):
    platform_id: str


class Item(BaseModel):
    name: str


def create_app(sessions: PlatformSessions | None = None, settings: WebSettings | None = None) -> FastAPI:
    """The example application."""
    app = FastAPI()
    add_platform_sessions(app, sessions or bootstrap(), settings=settings)

    # Plain `def` endpoints: FastAPI runs them in a thread, so the library's calls never
    # block the event loop.
    @app.post("/login")
    def login(body: Login, handle: Handle) -> dict[str, object]:
        # ... check the password against your own user table here ...
        context = handle.start(body.username)  # the middleware sets the cookie
        return {"user": context.user_id, "csrf_token": context.csrf_token}

    @app.get("/me")
    def me(context: Session) -> dict[str, object]:
        return {
            "user": context.user_id,
            "platform": context.platform_id,  # the X-Platform-Id override's, if one was sent
            "is_override": context.is_override,
            "csrf_token": context.csrf_token,
        }

    @app.post("/platform")  # unsafe: the CSRF token must come in X-CSRF-Token
    def switch_platform(body: Switch, context: Session, handle: Handle) -> dict[str, object]:
        try:
            outcome = handle.switch_platform(body.platform_id)
        except (PlatformNotFound, PlatformInactive) as error:
            raise HTTPException(404, type(error).__name__) from None
        return {"platform": outcome.session.active_platform_id, "changed": outcome.changed}

    @app.post("/rotate")
    def rotate(context: Session, handle: Handle) -> dict[str, object]:
        handle.rotate()  # new token in the cookie; the old one stops working
        return {"rotated": True}

    @app.post("/logout")
    def logout(handle: Handle) -> dict[str, object]:
        return {"ended": handle.end()}  # the middleware clears the cookie

    # request.session is the session's data, as with Starlette's SessionMiddleware, but kept in
    # the store and written back per changed key when the response starts.
    @app.post("/cart")
    def add_to_cart(item: Item, request: Request) -> dict[str, object]:
        request.session["cart"] = [*request.session.get("cart", []), item.name]
        return {"cart": request.session["cart"]}

    @app.get("/cart")
    def cart(request: Request) -> dict[str, object]:
        return {"cart": request.session.get("cart", [])}

    @app.post("/webhook")
    @csrf_exempt  # called by another server, which has no CSRF token
    def webhook() -> dict[str, object]:
        return {"received": True}

    return app


if __name__ == "__main__":
    import uvicorn

    sessions = bootstrap()
    sessions.connect_platform(
        "alice",
        name="Mastodon",
        platform_type="mastodon",
        instance_url="https://mastodon.example",
        username="alice",
    )
    uvicorn.run(create_app(sessions, WebSettings(secure=False)), host="127.0.0.1", port=8001)
