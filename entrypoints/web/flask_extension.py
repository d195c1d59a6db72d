"""Flask integration: ``FlaskPlatformSessions(app, sessions=bootstrap())``, or ``init_app`` later.

It installs :class:`SessionMiddleware` around ``app.wsgi_app``, makes ``flask.session`` this
library's session data (a :class:`PlatformSessionInterface`), and gives views the request's
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

``flask.session`` is the session's data, as with Flask's own cookie sessions (dict semantics,
``flash()`` and ``get_flashed_messages()``), but kept by the store, shared by every worker and
written back per key when the view returns: only the keys the request changed (see
``framework_session.py``), nothing when it changed none, and no session at all for a visitor
who only reads. A visitor's first write starts an anonymous session, which a later
``handle.start(user_id)`` carries into the login under a new token. Values are JSON (no
pickle; tuples come back as lists); ``SECRET_KEY`` is not needed for it.

``session.permanent`` maps to the cookie's persistence, which a session gets when it starts:
it reads whether the request's session has a persistent cookie (``True`` by default, unlike
Flask's cookie sessions, because logins here are persistent unless asked otherwise), and
setting it chooses the cookie of a login that this request then starts with
``handle.start(...)`` without ``persistent_cookie=`` (``False``: a browser-session cookie). An
existing session keeps the cookie it was started with; ``PERMANENT_SESSION_LIFETIME`` is not
used (lifetimes come from the policy, or ``lifetime=`` at login).

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

from flask import Flask, Request, Response, abort, request
from flask.sessions import SecureCookieSession, SessionInterface, SessionMixin
from werkzeug.exceptions import HTTPException

from platform_sessions.domain.attributes import JsonValue
from platform_sessions.domain.context import SessionContext
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.framework_session import data_changes, editable_copy, write_changes
from platform_sessions.entrypoints.web.handle import HANDLE_KEY, SessionHandle
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
        flask_session: bool = True,
    ) -> None:
        self.sessions = sessions
        self.settings = settings or WebSettings()
        # False leaves ``app.session_interface`` alone (an application that keeps another one).
        self.flask_session = flask_session
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Wrap ``app.wsgi_app`` in the session middleware, make ``flask.session`` this
        session's data, and register template helpers."""
        if self.sessions is None:
            raise RuntimeError("FlaskPlatformSessions needs sessions=bootstrap(...) before init_app")
        app.wsgi_app = SessionMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, self.sessions, settings=self.settings, csrf_exempt=_view_exemption(app)
        )
        if self.flask_session:
            app.session_interface = PlatformSessionInterface()
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


class PlatformSession(SecureCookieSession):
    """``flask.session``: a copy of the request's session data, written back per key.

    ``modified`` and ``accessed`` behave as in Flask's own session, but the write does not
    depend on them: the dict is compared with what was read (changes inside a value count).
    """

    def __init__(self, handle: SessionHandle | None) -> None:
        self.handle = handle
        data = handle.data if handle is not None else {}
        self.read: dict[str, JsonValue] = editable_copy(data)
        super().__init__(editable_copy(data))

    @property
    def permanent(self) -> bool:
        """Whether the session's cookie outlives the browser (see the module docstring)."""
        return self.handle.persistent_cookie if self.handle is not None else True

    @permanent.setter
    def permanent(self, value: bool) -> None:
        if self.handle is not None:
            self.handle.persistent_cookie_default = bool(value)


class PlatformSessionInterface(SessionInterface):
    """Flask's session interface backed by the request's :class:`SessionHandle`.

    Flask saves the session before the WSGI response starts, so the handle is still open and
    a visitor's first write can still set the cookie.
    """

    def open_session(self, app: Flask, request: Request) -> PlatformSession:
        """The request's data; detached (changes are refused on save) outside the middleware,
        as in ``app.test_request_context()``, which does not run ``app.wsgi_app``."""
        handle = request.environ.get(HANDLE_KEY)
        return PlatformSession(handle if isinstance(handle, SessionHandle) else None)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Write the keys this request changed, if any."""
        if not isinstance(session, PlatformSession):
            return
        if session.accessed:
            response.vary.add("Cookie")  # as Flask's own: a cache must not share the page
        changed, removed = data_changes(session.read, session)
        if session.handle is None:
            if changed or removed:
                raise RuntimeError("flask.session changed outside SessionMiddleware: nothing can keep it")
            return
        write_changes(session.handle, changed, removed)


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
