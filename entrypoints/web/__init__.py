"""Web entry points: session middlewares for any WSGI or ASGI application, and thin integrations.

Framework-neutral (standard library only):

- :class:`SessionMiddleware` (WSGI) and :class:`AsgiSessionMiddleware` (ASGI): resolve the
  session cookie per request, put the context and a :class:`SessionHandle` under
  :data:`CONTEXT_KEY` / :data:`HANDLE_KEY` in the environ or scope, check CSRF tokens, honour the
  ``X-Platform-Id`` override, and set or clear the cookie. The ASGI one also puts the session's
  data in ``scope["session"]`` (Starlette's ``request.session``), written back per changed key.
- :class:`SessionHandle`: the request's session (logged in, a visitor's anonymous one, or
  none) and its data (``data``, ``write_data``: a visitor's first write starts a session).
- :class:`WebSettings`: cookie name, Secure, header and form field names, form limits, the
  origin check and its trusted origins.
- :func:`require_session`, :func:`session_handle`, :func:`current_session` for plain WSGI code.

Integrations, imported from their own modules so this package needs no web framework:
``platform_sessions.entrypoints.web.flask_extension`` (Flask; ``flask.session`` becomes this
session's data) and
``platform_sessions.entrypoints.web.starlette_integration`` (Starlette, FastAPI).
"""

from platform_sessions.entrypoints.web.asgi import AsgiSessionMiddleware
from platform_sessions.entrypoints.web.handle import CONTEXT_KEY, HANDLE_KEY, SessionHandle
from platform_sessions.entrypoints.web.settings import WebSettings
from platform_sessions.entrypoints.web.wsgi import (
    SessionMiddleware,
    current_session,
    require_session,
    session_handle,
)

__all__ = [
    "CONTEXT_KEY",
    "HANDLE_KEY",
    "AsgiSessionMiddleware",
    "SessionHandle",
    "SessionMiddleware",
    "WebSettings",
    "current_session",
    "require_session",
    "session_handle",
]
