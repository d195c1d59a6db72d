"""The demo's WSGI application: routes and handlers, behind the library's session middleware.

Besides logins, it keeps three things in the session's data (``SessionHandle.write_data``):

- ``theme``: a per-session preference, which a visitor may set before logging in (the first
  write starts the visitor's anonymous session) and keeps through the login;
- ``next``: where a visitor was going when sent to the login form, a pre-login value the login
  carries into the new session and then uses up;
- ``flash``: a message for the next page, set by a switch and shown (once) by the next state
  read, in whichever tab makes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from http import HTTPStatus
from wsgiref.types import StartResponse, WSGIEnvironment

from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import InvalidInput, PlatformInactive, PlatformNotFound, SessionNotFound
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.demo import pages
from platform_sessions.entrypoints.web.demo.accounts import DemoAccounts
from platform_sessions.entrypoints.web.demo.http_messages import (
    Request,
    Response,
    error_json,
    html,
    json_response,
    not_found,
    redirect,
    refusal_response,
)
from platform_sessions.entrypoints.web.demo.static_files import static_file
from platform_sessions.entrypoints.web.event_broker import EventBroker
from platform_sessions.entrypoints.web.event_stream_wsgi import is_reconnect, open_event_stream
from platform_sessions.entrypoints.web.handle import SessionHandle
from platform_sessions.entrypoints.web.refusals import login_required
from platform_sessions.entrypoints.web.server_sent_events import EVENT_STREAM_HEADERS
from platform_sessions.entrypoints.web.wsgi import session_handle

Handler = Callable[[Request, SessionHandle], Response]

# Where a login may send the user on: pages of ours only (never a URL from the request).
AFTER_LOGIN = frozenset({"/", "/sessions"})


def chrome(handle: SessionHandle) -> pages.Chrome:
    """The page chrome of the request's session (a visitor's too)."""
    theme = handle.data.get("theme")
    return pages.Chrome(
        csrf_token=handle.csrf_token or "", theme=theme if theme in pages.THEMES else pages.THEMES[0]
    )


def _platform_json(platform: PlatformConnection) -> dict[str, object]:
    return {
        "id": platform.id,
        "name": platform.name,
        "platform_type": platform.platform_type,
        "instance_url": platform.instance_url,
        "username": platform.username,
        "is_active": platform.is_active,
        "is_default": platform.is_default,
        "last_used_at": platform.last_used_at.isoformat() if platform.last_used_at else None,
    }


class DemoApp:
    """Pages for people, a small JSON API for ``app.js``, and the event stream."""

    def __init__(
        self,
        sessions: PlatformSessions,
        accounts: DemoAccounts,
        broker: EventBroker | None,
        *,
        heartbeat_s: float = 10.0,
    ) -> None:
        self._sessions = sessions
        self._accounts = accounts
        self._broker = broker
        self._heartbeat_s = heartbeat_s
        self._routes: dict[tuple[str, str], Handler] = {
            ("GET", "/"): self.dashboard,
            ("GET", "/login"): self.login_form,
            ("POST", "/login"): self.login,
            ("POST", "/logout"): self.logout,
            ("POST", "/preferences"): self.set_preference,
            ("GET", "/sessions"): self.sessions_page,
            ("POST", "/sessions/end"): self.end_session,
            ("POST", "/sessions/end-others"): self.end_other_sessions,
            ("GET", "/api/state"): self.state,
            ("POST", "/api/switch"): self.switch,
            ("GET", "/events"): self.events,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        handler = self._routes.get((request.method, request.path))
        if handler is not None:
            response = handler(request, session_handle(environ))
        elif request.method == "GET" and request.path.startswith("/static/"):
            response = static_file(request.path.removeprefix("/static/"))
        elif any(path == request.path for _, path in self._routes):
            response = error_json(HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed", "wrong method")
        else:
            response = not_found()
        start_response(response.status_line, list(response.headers))
        return response.body

    # Pages

    def dashboard(self, request: Request, handle: SessionHandle) -> Response:
        """The platforms page, or the login form for anonymous visitors."""
        context = handle.context
        if context is None:
            return redirect("/login")
        return html(pages.dashboard_page(context, self._name(context), chrome(handle)))

    def login_form(self, request: Request, handle: SessionHandle) -> Response:
        """The login form (logged-in visitors go to the dashboard)."""
        if handle.context is not None:
            return redirect("/")
        return html(pages.login_page(chrome(handle), reason=request.query.get("reason")))

    def login(self, request: Request, handle: SessionHandle) -> Response:
        """Check the password, then start a session: the middleware sets the cookie."""
        user_id = request.form.get("username", "")
        account = self._accounts.authenticate(user_id, request.form.get("password", ""))
        if account is None:
            page = pages.login_page(chrome(handle), error="Wrong user or password.", user_id=user_id)
            return html(page, HTTPStatus.UNAUTHORIZED)
        handle.start(account.user_id)  # a visitor's theme and next page come along
        going = handle.data.get("next")
        if going is not None:
            handle.write_data(delete=["next"])
        return redirect(going if going in AFTER_LOGIN else "/")

    def logout(self, request: Request, handle: SessionHandle) -> Response:
        """End this session; the middleware clears the cookie."""
        handle.end()
        return redirect("/login?reason=logout")

    def set_preference(self, request: Request, handle: SessionHandle) -> Response:
        """Keep the theme in the session's data: a visitor's first choice starts its session."""
        theme = request.form.get("theme", "")
        if theme not in pages.THEMES:
            return error_json(HTTPStatus.BAD_REQUEST, "unknown_theme", "the theme is light or dark")
        handle.write_data(set={"theme": theme})
        return redirect("/" if handle.context is not None else "/login")

    def sessions_page(self, request: Request, handle: SessionHandle) -> Response:
        """Every live session of the user, with device, address and last seen."""
        context = handle.context
        if context is None:
            handle.write_data(set={"next": "/sessions"})  # where the login will send them on
            return redirect("/login")
        summaries = self._sessions.list_sessions(context.logged_in_user_id, current=context)
        ended = request.query.get("ended")
        page = pages.sessions_page(
            context,
            self._name(context),
            summaries,
            chrome(handle),
            ended=int(ended) if ended and ended.isdigit() else None,
        )
        return html(page)

    def end_session(self, request: Request, handle: SessionHandle) -> Response:
        """End one session by its public handle: this one is a logout, another is revoked."""
        context = handle.context
        if context is None:
            return redirect("/login")
        target = request.form.get("handle", "")
        if target == context.handle:
            handle.end()
            return redirect("/login?reason=logout")
        # Already gone, or never was: either way the list is what the user wanted.
        with contextlib.suppress(SessionNotFound, InvalidInput):
            self._sessions.revoke_session(context.logged_in_user_id, target)
        return redirect("/sessions")

    def end_other_sessions(self, request: Request, handle: SessionHandle) -> Response:
        """End every session of the user but this one."""
        context = handle.context
        if context is None:
            return redirect("/login")
        ended = self._sessions.end_all_sessions(context.logged_in_user_id, keep=context)
        return redirect(f"/sessions?ended={ended}")

    # The JSON API app.js calls (with X-Platform-Id when the tab has an override)

    def state(self, request: Request, handle: SessionHandle) -> Response:
        """The session, what this request (tab) works on, and the user's platforms."""
        context = handle.context
        if context is None:
            return refusal_response(login_required())
        flash = handle.data.get("flash")
        if flash is not None:
            handle.write_data(delete=["flash"])  # shown once, by whichever tab reads it first
        return json_response(
            {
                "flash": flash,
                "user": {"id": context.user_id, "name": self._name(context)},
                "session": {
                    "handle": context.handle,
                    "active_platform_id": context.session.active_platform_id,
                },
                "tab": {
                    "platform_id": context.platform_id,
                    "is_override": context.is_override,
                    "fell_back": context.platform_fell_back,
                },
                "platforms": [
                    _platform_json(p) for p in self._sessions.list_platforms(context.logged_in_user_id)
                ],
            }
        )

    def switch(self, request: Request, handle: SessionHandle) -> Response:
        """Switch the session's active platform (validated, versioned, stamped, published)."""
        if handle.context is None:
            return refusal_response(login_required())
        platform_id = request.json().get("platform_id")
        try:
            outcome = handle.switch_platform(str(platform_id or ""))
        except (PlatformNotFound, InvalidInput):
            return error_json(HTTPStatus.NOT_FOUND, "platform_not_found", "no such platform connection")
        except PlatformInactive:
            return error_json(HTTPStatus.FORBIDDEN, "platform_inactive", "this platform is deactivated")
        active = outcome.session.active_platform_id
        if outcome.changed:
            # The handle's context follows the switch: its platform is the one switched to.
            platform = handle.context.platform if handle.context is not None else None
            name = platform.name if platform is not None and platform.id == active else active
            handle.write_data(set={"flash": f"Switched to {name}."})
        return json_response({"changed": outcome.changed, "active_platform_id": active})

    def events(self, request: Request, handle: SessionHandle) -> Response:
        """The user's domain events as server-sent events, until this session ends."""
        context = handle.context
        if context is None:
            return refusal_response(login_required())
        if self._broker is None:
            return error_json(
                HTTPStatus.NOT_IMPLEMENTED,
                "no_live_updates",
                "this storage's publisher cannot be subscribed to",
            )
        stream = open_event_stream(
            self._broker, context, heartbeat_s=self._heartbeat_s, reconnected=is_reconnect(request.environ)
        )
        return Response(HTTPStatus.OK, stream, EVENT_STREAM_HEADERS)

    def _name(self, context: SessionContext) -> str:
        return self._accounts.display_name(context.logged_in_user_id)
