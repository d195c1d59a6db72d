"""The applications of the peers section: one small app per framework and session layer.

Each framework has a bare app (the same views, no session layer) so that a request's session
layer is the request minus the bare one. Every app keeps a session-sized value (``PEER_DATA``,
about what this library stores for a session) so that the peers move as many bytes as we do.
Views: ``GET /read`` reads the session, ``POST /modify`` changes one value; this library's app
also has ``/switch``, ``/login``, ``/rotate`` and ``/logout``. Bodies carry what the client
must echo next (this library's CSRF token).

Each builder imports its framework when called (the peers are the ``bench`` extra, never
runtime dependencies) and raises :class:`PeerMissing` if it is not installed.
"""

from __future__ import annotations

import importlib.util
import secrets
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from benchmarks import counting
from benchmarks.in_process import AsgiApp, WsgiApp
from platform_sessions.domain.ids import PlatformId
from platform_sessions.entrypoints.facade import PlatformSessions

if TYPE_CHECKING:
    from flask import Flask

SECRET = secrets.token_hex(32)
# About what this library keeps per session (ids, times, a CSRF token, client, attributes).
PEER_DATA: dict[str, Any] = {
    "user_id": "bench-user-0001",
    "platform_id": "p-" + "0" * 30,
    "csrf": secrets.token_urlsafe(32),
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Benchmark/1.0",
    "ip": "127.0.0.1",
    "created_at": "2026-11-25T16:13:00+00:00",
    "n": 0,
}


def peer_prefix(key_prefix: str) -> str:
    """Where the peers keep their keys: beside this library's, never under its prefix, whose
    every write this library's near cache hears of (a real deployment's other apps do not
    share it)."""
    return f"peer-{key_prefix}"


class PeerMissing(Exception):
    """A peer's package is not installed (``pip install -e '.[bench]'``)."""


def require(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise PeerMissing(f"not installed: {', '.join(missing)} (the bench extra)")


# --- Flask ---------------------------------------------------------------------------------


def flask_bare() -> WsgiApp:
    require("flask")
    from flask import Flask

    app = Flask("bench_bare")

    @app.get("/read")
    def read() -> str:
        return "bare"

    @app.post("/modify")
    def modify() -> str:
        return "bare"

    return app.wsgi_app


def _flask_session_views(app: Flask) -> None:
    from flask import session

    @app.get("/read")
    def read() -> str:
        return str(session.get("user_id", "anonymous"))

    @app.post("/modify")
    def modify() -> str:
        if "user_id" not in session:
            session.update(PEER_DATA)
        session["n"] = int(session.get("n", 0)) + 1
        return str(session["user_id"])


def flask_signed_cookie() -> WsgiApp:
    """Flask's own session: the data itself in a signed cookie (nothing stored server side)."""
    require("flask")
    from flask import Flask

    app = Flask("bench_flask_cookie")
    app.secret_key = SECRET
    _flask_session_views(app)
    return app.wsgi_app


def flask_session_redis(redis_url: str, key_prefix: str, *, refresh: bool = True) -> WsgiApp:
    """Flask-Session on Redis; ``refresh`` is its default ``SESSION_REFRESH_EACH_REQUEST``."""
    require("flask", "flask_session")
    import redis
    from flask import Flask
    from flask_session import Session

    app = Flask("bench_flask_session")
    app.secret_key = SECRET
    app.config.update(
        SESSION_TYPE="redis",
        SESSION_REDIS=redis.Redis.from_url(redis_url),
        SESSION_KEY_PREFIX=f"{key_prefix}flask-session:",
        SESSION_REFRESH_EACH_REQUEST=refresh,
        SESSION_PERMANENT=True,
    )
    Session(app)
    _flask_session_views(app)
    return app.wsgi_app


def flask_platform_sessions(
    sessions: PlatformSessions,
    user_id: str,
    platforms: tuple[PlatformId, PlatformId],
    *,
    flask_session: bool = True,
) -> WsgiApp:
    """This library's Flask extension on the given facade; ``/login`` logs ``user_id`` in.

    ``GET /session/read`` reads ``flask.session`` and changes nothing; ``POST /session/modify``
    changes one key of it (``n``). ``flask_session=False`` leaves Flask's own session
    interface in place, as the extension was before it had one (issue 15).
    """
    require("flask")
    from flask import Flask, session

    from platform_sessions.entrypoints.web.flask_extension import FlaskPlatformSessions

    app = Flask("bench_platform_sessions")
    extension = FlaskPlatformSessions(app, sessions=sessions, flask_session=flask_session)
    first, second = platforms

    @app.get("/session/read")
    def read_session() -> str:
        return str(session.get("user_id", "anonymous"))

    @app.post("/session/modify")
    def modify_session() -> str:
        session["n"] = int(session.get("n", 0)) + 1
        return extension.handle.csrf_token or ""

    @app.get("/read")
    def read() -> str:
        context = extension.context
        return context.logged_in_user_id if context is not None else "anonymous"

    @app.post("/switch")
    def switch() -> str:
        handle = extension.handle
        assert handle.context is not None
        handle.switch_platform(second if handle.context.platform_id == first else first)
        return handle.csrf_token or ""

    @app.post("/login")
    def login() -> str:
        handle = extension.handle
        handle.start(user_id, platform_id=first)
        return handle.csrf_token or ""

    @app.post("/rotate")
    def rotate() -> str:
        handle = extension.handle
        handle.rotate()
        return handle.csrf_token or ""

    @app.post("/logout")
    def logout() -> str:
        extension.handle.end()
        return ""

    return app.wsgi_app


# --- Starlette -----------------------------------------------------------------------------


def _starlette_app(middleware: list[Any], *, load: Callable[[Any], Any] | None = None) -> AsgiApp:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def read(request: Request) -> PlainTextResponse:
        if not middleware:
            return PlainTextResponse("bare")
        if load is not None:
            await load(request)
        return PlainTextResponse(str(request.session.get("user_id", "anonymous")))

    async def modify(request: Request) -> PlainTextResponse:
        if not middleware:
            return PlainTextResponse("bare")
        if load is not None:
            await load(request)
        if "user_id" not in request.session:
            request.session.update(PEER_DATA)
        request.session["n"] = int(request.session.get("n", 0)) + 1
        return PlainTextResponse(str(request.session["user_id"]))

    routes = [Route("/read", read), Route("/modify", modify, methods=["POST"])]
    return Starlette(routes=routes, middleware=middleware)


def starlette_bare() -> AsgiApp:
    require("starlette")
    return _starlette_app([])


def starlette_signed_cookie() -> AsgiApp:
    """Starlette's ``SessionMiddleware``: the data in a signed cookie."""
    require("starlette", "itsdangerous")
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware

    return _starlette_app([Middleware(SessionMiddleware, secret_key=SECRET)])


def starsessions_redis(redis_url: str, key_prefix: str) -> AsgiApp:
    """starsessions with its Redis store (redis.asyncio)."""
    require("starlette", "starsessions")
    import redis.asyncio
    from starlette.middleware import Middleware
    from starsessions import SessionMiddleware, load_session
    from starsessions.stores.redis import RedisStore

    store = RedisStore(
        connection=redis.asyncio.Redis.from_url(redis_url), prefix=f"{key_prefix}starsessions:"
    )
    middleware = [Middleware(SessionMiddleware, store=store, lifetime=3600, cookie_https_only=False)]
    return _starlette_app(middleware, load=load_session)


# --- Django --------------------------------------------------------------------------------


class DjangoApps:
    """Django configured once per process: ``cached_db`` sessions on Redis and PostgreSQL.

    ``handler`` is a ``WSGIHandler`` behind ``SessionMiddleware``; ``bare`` the same views
    without it; ``store`` the ``SessionStore`` class for the function-level rows. The
    database is the run's private schema (``search_path`` as a libpq option) and the
    ``django_session`` table is made there by Django's own migration.
    """

    def __init__(self, redis_url: str, database_url: str, key_prefix: str) -> None:
        require("django")
        import django
        from django.conf import settings
        from sqlalchemy.engine import make_url

        if settings.configured:
            # Django's settings are per process, and this run's schema is not the last one's.
            raise PeerMissing("Django was configured already in this process")
        url = make_url(database_url)
        urls = types.ModuleType("bench_django_urls")
        settings.configure(
            DEBUG=False,
            SECRET_KEY=SECRET,
            ALLOWED_HOSTS=["*"],
            USE_TZ=True,
            INSTALLED_APPS=["django.contrib.sessions"],
            MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
            ROOT_URLCONF=urls,
            DATABASES={
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": url.database,
                    "USER": url.username or "",
                    "PASSWORD": url.password or "",
                    "HOST": url.host or "",
                    "PORT": str(url.port or ""),
                    "CONN_MAX_AGE": None,
                    "OPTIONS": {"options": str(url.query.get("options", ""))},
                }
            },
            CACHES={
                "default": {
                    "BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": redis_url,
                    "KEY_PREFIX": f"{key_prefix}django",
                }
            },
            SESSION_ENGINE="django.contrib.sessions.backends.cached_db",
        )
        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.http import HttpRequest, HttpResponse
        from django.test.utils import override_settings
        from django.urls import path

        def read(request: HttpRequest) -> HttpResponse:
            return HttpResponse(str(request.session.get("user_id", "anonymous")))

        def modify(request: HttpRequest) -> HttpResponse:
            if "user_id" not in request.session:
                request.session.update(PEER_DATA)
            request.session["n"] = int(request.session.get("n", 0)) + 1
            return HttpResponse(str(request.session["user_id"]))

        def cycle(request: HttpRequest) -> HttpResponse:
            request.session.cycle_key()
            return HttpResponse("cycled")

        def flush(request: HttpRequest) -> HttpResponse:
            request.session.flush()
            return HttpResponse("flushed")

        def bare(_: HttpRequest) -> HttpResponse:
            return HttpResponse("bare")

        urls.urlpatterns = [  # type: ignore[attr-defined]
            path("read", read),
            path("modify", modify),
            path("cycle", cycle),
            path("flush", flush),
            path("bare", bare),
        ]
        call_command("migrate", "sessions", verbosity=0)
        # Django's queries go through its own connection, not SQLAlchemy: count them too.
        connection.execute_wrappers.append(_count_statement)

        from django.contrib.sessions.backends.cached_db import SessionStore
        from django.core.handlers.wsgi import WSGIHandler

        self.store = SessionStore
        self.handler: WsgiApp = WSGIHandler()
        with override_settings(MIDDLEWARE=[]):
            self.bare: WsgiApp = WSGIHandler()

    def close(self) -> None:
        from django.db import connection

        connection.execute_wrappers.remove(_count_statement)
        connection.close()


def _count_statement(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    counting.count_sql_statement()
    return execute(sql, params, many, context)


def starlette_platform_sessions(sessions: PlatformSessions) -> AsgiApp:
    """This library's Starlette integration on the given facade.

    ``GET /read`` reads the session's context; ``GET /session/read`` reads ``request.session``
    and changes nothing; ``POST /session/modify`` changes one key of it (``n``) and answers
    the CSRF token the next unsafe request echoes.
    """
    require("starlette")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from platform_sessions.entrypoints.web.starlette_integration import (
        add_platform_sessions,
        current_session,
        session_handle,
    )

    def read(request: Request) -> PlainTextResponse:
        context = current_session(request)
        return PlainTextResponse(context.logged_in_user_id if context is not None else "anonymous")

    async def read_session(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.session.get("user_id", "anonymous")))

    async def modify_session(request: Request) -> PlainTextResponse:
        request.session["n"] = int(request.session.get("n", 0)) + 1
        return PlainTextResponse(session_handle(request).csrf_token or "")

    routes = [
        Route("/read", read),
        Route("/session/read", read_session),
        Route("/session/modify", modify_session, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    add_platform_sessions(app, sessions)
    return app
