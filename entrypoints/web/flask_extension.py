"""Flask integration: ``FlaskPlatformSessions(app, sessions=bootstrap())``, or ``init_app`` later.

It installs :class:`SessionMiddleware` around ``app.wsgi_app`` and gives views the request's
session::

    platform_sessions = FlaskPlatformSessions(sessions=bootstrap())
    platform_sessions.init_app(app)

    @app.get("/me")
    @platform_sessions.require_session          # 401 when anonymous
    def me():
        return {"user": platform_sessions.context.user_id}

    @app.post("/login")
    def login():
        ...                                     # the application checks the password
        platform_sessions.handle.start(user_id)  # the middleware sets the cookie
        return redirect("/")

``csrf_exempt`` marks a view whose unsafe requests skip the CSRF check (a webhook, say);
templates get ``platform_sessions_csrf_token`` and ``session_context``::

    <input type="hidden" name="csrf_token" value="{{ platform_sessions_csrf_token }}">

The template name is not ``csrf_token``: Flask-WTF's ``csrf_token()`` is a template global of
that name, which a context variable would shadow. An application that also uses Flask-WTF
renders both; as both default to the form field ``csrf_token``, it gives ours another one,
``WebSettings(csrf_form_field="platform_sessions_csrf_token")``, and names the input so.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from wsgiref.types import WSGIEnvironment

from flask import Flask, abort, request
from werkzeug.exceptions import HTTPException

from platform_sessions.domain.context import SessionContext
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.handle import SessionHandle
from platform_sessions.entrypoints.web.settings import WebSettings
from platform_sessions.entrypoints.web.wsgi import SessionMiddleware, session_handle

EXTENSION_NAME = "platform_sessions"
CSRF_EXEMPT_ATTRIBUTE = "_platform_sessions_csrf_exempt"
# Not "csrf_token": that is Flask-WTF's template global, and a context variable would hide it.
TEMPLATE_CSRF_TOKEN = "platform_sessions_csrf_token"

View = TypeVar("View", bound=Callable[..., Any])


class FlaskPlatformSessions:
    """The Flask extension object; one per application module, like other Flask extensions."""

    def __init__(
        self,
        app: Flask | None = None,
        *,
        sessions: PlatformSessions | None = None,
        settings: WebSettings | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings or WebSettings()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Wrap ``app.wsgi_app`` in the session middleware and register template helpers."""
        if self.sessions is None:
            raise RuntimeError("FlaskPlatformSessions needs sessions=bootstrap(...) before init_app")
        app.wsgi_app = SessionMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, self.sessions, settings=self.settings, csrf_exempt=_view_exemption(app)
        )
        app.extensions[EXTENSION_NAME] = self
        app.context_processor(lambda: {TEMPLATE_CSRF_TOKEN: self.csrf_token, "session_context": self.context})

    @property
    def handle(self) -> SessionHandle:
        """The current request's handle: start, rotate, switch or end its session."""
        return session_handle(request.environ)

    @property
    def context(self) -> SessionContext | None:
        """The current request's session, or ``None`` when anonymous."""
        return self.handle.context

    @property
    def csrf_token(self) -> str | None:
        """The current session's CSRF token, for forms and scripts."""
        return self.handle.csrf_token

    def require_session(self, view: View) -> View:
        """Decorate a view so that anonymous requests get 401 (Flask's ``abort``, customisable)."""

        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if self.context is None:
                abort(401)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    @staticmethod
    def csrf_exempt(view: View) -> View:
        """Decorate a view whose unsafe requests skip the CSRF check."""
        setattr(view, CSRF_EXEMPT_ATTRIBUTE, True)
        return view


def _view_exemption(app: Flask) -> Callable[[WSGIEnvironment], bool]:
    """Ask Flask's URL map which view a request goes to, and whether that view is exempt."""

    def is_exempt(environ: WSGIEnvironment) -> bool:
        try:
            endpoint, _ = app.url_map.bind_to_environ(environ).match()
        except HTTPException:
            return False
        view = app.view_functions.get(str(endpoint))
        return bool(getattr(view, CSRF_EXEMPT_ATTRIBUTE, False))

    return is_exempt
