"""Where the middlewares put a request's session: the same keys in the WSGI environ and the ASGI scope.

- ``environ[CONTEXT_KEY]`` / ``scope[CONTEXT_KEY]``: the request's
  :class:`~platform_sessions.domain.context.SessionContext` as resolved on arrival, or ``None``
  when anonymous. After a handler logged in or out, the handle's ``context`` is the current one.
- ``environ[HANDLE_KEY]`` / ``scope[HANDLE_KEY]``: the request's
  :class:`~platform_sessions.entrypoints.web.handle.SessionHandle`, through which a handler
  starts, rotates, switches or ends the session so that the middleware sets or clears the cookie.
"""

from __future__ import annotations

CONTEXT_KEY = "platform_sessions.context"
HANDLE_KEY = "platform_sessions.handle"
