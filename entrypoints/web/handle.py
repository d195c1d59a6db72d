"""The per-request handle: how a handler changes the session so the middleware fixes the cookie."""

from __future__ import annotations

from collections.abc import Mapping

from attrs import field, frozen

from platform_sessions.application.results import SwitchOutcome
from platform_sessions.domain.attributes import JsonValue
from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.session import UserSession
from platform_sessions.entrypoints.facade import PlatformSessions


@frozen
class SetCookie:
    """Send the cookie with a new token, kept by the browser for ``max_age`` seconds."""

    token: str = field(repr=False)  # a live credential: never in a log line or a traceback
    max_age: int


@frozen
class ClearCookie:
    """Make the browser drop the cookie (logged out, or the cookie named no live session)."""


CookieChange = SetCookie | ClearCookie


class ResponseAlreadyStarted(RuntimeError):
    """The session changed after the response headers went out, too late to set the cookie."""


class SessionHandle:
    """One request's session, and the changes to it that need a new or a cleared cookie.

    The middleware puts one in the environ or scope (see ``keys.HANDLE_KEY``). Change the
    session through it before the response starts; the middleware then adds the
    ``Set-Cookie`` header. Reads are free: :attr:`context` is what the middleware resolved.
    """

    def __init__(
        self,
        sessions: PlatformSessions,
        context: SessionContext | None,
        *,
        user_agent: str = "",
        ip_address: str = "",
        clear_cookie: bool = False,
    ) -> None:
        self._sessions = sessions
        self._context = context
        self._user_agent = user_agent
        self._ip_address = ip_address
        self._cookie_change: CookieChange | None = ClearCookie() if clear_cookie else None
        self._sealed = False

    @property
    def context(self) -> SessionContext | None:
        """The session this request works in, or ``None`` when anonymous."""
        return self._context

    @property
    def is_authenticated(self) -> bool:
        """Whether the request has a live session."""
        return self._context is not None

    @property
    def csrf_token(self) -> str | None:
        """The token to render into forms (or hand to scripts) for unsafe requests."""
        return self._context.csrf_token if self._context else None

    @property
    def cookie_change(self) -> CookieChange | None:
        """What the response must do to the cookie, if anything."""
        return self._cookie_change

    def start(
        self,
        user_id: UserId,
        *,
        platform_id: PlatformId | None = None,
        attributes: Mapping[str, JsonValue] | None = None,
    ) -> SessionContext:
        """Log in a user the application authenticated; a session already here is ended first.

        The new session always gets a new token (no session fixation), and the browser's
        device and address are recorded for the "your sessions" page.
        """
        self._check_open()
        if self._context is not None:
            self._sessions.end_session(self._context)
        started = self._sessions.start_session(
            user_id,
            platform_id=platform_id,
            user_agent=self._user_agent,
            ip_address=self._ip_address,
            attributes=attributes,
        )
        self._context = started.context
        self._set(str(started.token), started.context.session)
        return started.context

    def rotate(self) -> SessionContext:
        """Give the session a new token (after a privilege change, say); its data stays."""
        context = self._require()
        rotated = self._sessions.rotate(context)
        self._context = SessionContext(
            rotated.session, context.platform, context.platform_fell_back, context.is_override
        )
        self._set(str(rotated.token), rotated.session)
        return self._context

    def switch_platform(self, platform_id: PlatformId) -> SwitchOutcome:
        """Make ``platform_id`` the session's active platform (validated like any switch).

        If the policy rotates tokens on a switch, the new token goes into the cookie. The
        handle's context follows the outcome's session, also when nothing changed because
        another request had switched first (the context then is as stored, not as resolved).
        """
        context = self._require()
        outcome = self._sessions.switch_platform(context, platform_id)
        if outcome.changed or outcome.session != context.session:
            platforms = self._sessions.list_platforms(context.logged_in_user_id)
            platform = next((p for p in platforms if p.id == platform_id), None)
            self._context = SessionContext(outcome.session, platform)
        if outcome.new_token is not None:
            self._set(str(outcome.new_token), outcome.session)
        return outcome

    def end(self) -> bool:
        """Log out: end the session and clear the cookie; ``False`` if there was none."""
        self._check_open()
        ended = self._sessions.end_session(self._context) if self._context is not None else False
        self._context = None
        self._cookie_change = ClearCookie()
        return ended

    def seal(self) -> CookieChange | None:
        """Called by the middleware as the response starts: later changes raise."""
        self._sealed = True
        return self._cookie_change

    def _require(self) -> SessionContext:
        self._check_open()
        if self._context is None:
            raise SessionNotFound("this request has no session")
        return self._context

    def _check_open(self) -> None:
        if self._sealed:
            raise ResponseAlreadyStarted("change the session before the response starts")

    def _set(self, token: str, session: UserSession) -> None:
        # The cookie lives exactly as long as the session can: its absolute expiry. The idle
        # timeout is judged by the server on every request.
        remaining = session.absolute_expires_at - self._sessions.clock.now()
        self._cookie_change = SetCookie(token, max(int(remaining.total_seconds()), 0))
