"""Starlette and FastAPI integration: the middleware plus dependencies that give the context.

::

    app = FastAPI()
    add_platform_sessions(app, bootstrap())

    @app.get("/me")
    def me(context: Annotated[SessionContext, Depends(require_session)]):   # 401 when anonymous
        return {"user": context.user_id}

    @app.post("/login")
    def login(handle: Annotated[SessionHandle, Depends(session_handle)]):
        ...                                  # the application checks the password
        handle.start(user_id)                # the middleware sets the cookie

``request.session`` is the session's data, as with Starlette's own ``SessionMiddleware`` (which
this replaces: do not install both): a visitor's first write starts an anonymous session, which
``handle.start(user_id)`` carries into the login under a new token. Write it in plain ``def``
endpoints or ``async def`` ones alike: it is written back when the response starts.

The dependencies are plain functions of the request, so they work with Starlette endpoints
too (``require_session(request)``). ``csrf_exempt`` marks an endpoint whose unsafe requests
skip the CSRF check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, Match

from platform_sessions.domain.context import SessionContext
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.asgi import AsgiSessionMiddleware, Scope
from platform_sessions.entrypoints.web.handle import HANDLE_KEY, SessionHandle
from platform_sessions.entrypoints.web.settings import WebSettings

CSRF_EXEMPT_ATTRIBUTE = "_platform_sessions_csrf_exempt"

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def add_platform_sessions(
    app: Starlette,
    sessions: PlatformSessions,
    *,
    settings: WebSettings | None = None,
    scope_session: bool = True,
) -> None:
    """Install the session middleware on a Starlette or FastAPI application.

    ``request.session`` is then the session's data (written back per key as the response
    starts); ``scope_session=False`` leaves it to another middleware.
    """

    def is_exempt(scope: Scope) -> bool:
        # Read the routes per request: FastAPI adds them after the middleware, by decorators.
        return _endpoint_is_exempt(app.router.routes, scope)

    app.add_middleware(
        AsgiSessionMiddleware,
        sessions=sessions,
        settings=settings,
        csrf_exempt=is_exempt,
        scope_session=scope_session,
    )


def session_handle(request: HTTPConnection) -> SessionHandle:
    """Dependency: the request's handle (start, rotate, switch or end the session)."""
    handle = request.scope.get(HANDLE_KEY)
    if not isinstance(handle, SessionHandle):
        raise RuntimeError("no session handle in the scope: call add_platform_sessions(app, ...)")
    return handle


def current_session(request: HTTPConnection) -> SessionContext | None:
    """Dependency: the request's session, or ``None`` when anonymous."""
    return session_handle(request).context


def require_session(request: HTTPConnection) -> SessionContext:
    """Dependency: the request's session; anonymous requests get 401."""
    context = current_session(request)
    if context is None:
        raise HTTPException(status_code=401, detail="login required")
    return context


def csrf_exempt(endpoint: Endpoint) -> Endpoint:
    """Decorate an endpoint whose unsafe requests skip the CSRF check."""
    setattr(endpoint, CSRF_EXEMPT_ATTRIBUTE, True)
    return endpoint


def _endpoint_is_exempt(routes: Sequence[BaseRoute], scope: Scope) -> bool:
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is not Match.FULL:
            continue
        endpoint = child_scope.get("endpoint")
        if endpoint is not None:
            return bool(getattr(endpoint, CSRF_EXEMPT_ATTRIBUTE, False))
        nested: Sequence[BaseRoute] | None = getattr(route, "routes", None)
        return bool(nested) and _endpoint_is_exempt(nested or (), {**scope, **child_scope})
    return False
