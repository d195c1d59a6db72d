"""The per-request handle: how a handler changes the session so the middleware fixes the cookie.

Where the middlewares put a request's session: the same keys in the WSGI environ and the ASGI scope.

- ``environ[CONTEXT_KEY]`` / ``scope[CONTEXT_KEY]``: the request's
  :class:`~platform_sessions.domain.context.SessionContext` as resolved on arrival, or ``None``
  when nobody is logged in (no session, or a visitor's anonymous one: see the handle). After a
  handler logged in or out, the handle's ``context`` is the current one.
- ``environ[HANDLE_KEY]`` / ``scope[HANDLE_KEY]``: the request's :class:`SessionHandle`,
  through which a handler starts, rotates, switches or ends the session so that the middleware
  sets or clears the cookie.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from types import MappingProxyType

import attrs

from platform_sessions.application.results import SwitchOutcome
from platform_sessions.domain.attributes import JsonValue
from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.session import UserSession
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.cookies import ClearCookie, CookieChange, SetCookie

CONTEXT_KEY = "platform_sessions.context"
HANDLE_KEY = "platform_sessions.handle"

__all__ = ["CONTEXT_KEY", "HANDLE_KEY", "ClearCookie", "CookieChange", "SessionHandle", "SetCookie"]

_NO_DATA: Mapping[str, JsonValue] = MappingProxyType({})


class ResponseAlreadyStarted(RuntimeError):
    """The session changed after the response headers went out, too late to set the cookie."""


class SessionHandle:
    """One request's session, and the changes to it that need a new or a cleared cookie.

    The middleware puts one in the environ or scope (under :data:`HANDLE_KEY`). Change the
    session through it before the response starts; the middleware then adds the
    ``Set-Cookie`` header. Reads are free: :attr:`context` and :attr:`data` are what the
    middleware resolved, as changed through this handle since.

    A request has a logged-in session (:attr:`context` is set), an **anonymous** one (a
    visitor's: :attr:`context` stays ``None``, so "not logged in" checks keep working, but
    :attr:`data` and :attr:`csrf_token` are the visitor's), or none. A visitor gets a session
    only with the first non-empty :meth:`write_data`; reading creates nothing.
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
        self._context: SessionContext | None = None
        self._anonymous: UserSession | None = None
        if context is not None and context.session.is_anonymous:
            self._anonymous = context.session
        else:
            self._context = context
        self._user_agent = user_agent
        self._ip_address = ip_address
        self._cookie_change: CookieChange | None = ClearCookie() if clear_cookie else None
        self._sealed = False
        # What ``start`` gives a login that does not say (Flask's ``session.permanent`` sets it).
        self.persistent_cookie_default = True

    @property
    def context(self) -> SessionContext | None:
        """The logged-in session this request works in, or ``None`` (no session, or a visitor's)."""
        return self._context

    @property
    def session(self) -> UserSession | None:
        """The request's session as last read or written: logged in, anonymous, or ``None``."""
        return self._context.session if self._context is not None else self._anonymous

    @property
    def is_authenticated(self) -> bool:
        """Whether the request has a live logged-in session (a visitor's does not count)."""
        return self._context is not None

    @property
    def csrf_token(self) -> str | None:
        """The token to render into forms (or hand to scripts) for unsafe requests: the
        logged-in session's, or the visitor's anonymous session's; ``None`` without a session."""
        session = self.session
        return session.csrf_token if session is not None else None

    @property
    def data(self) -> Mapping[str, JsonValue]:
        """The session's application data (read-only; change it with :meth:`write_data`);
        ``{}`` without a session."""
        session = self.session
        return session.data if session is not None else _NO_DATA

    @property
    def persistent_cookie(self) -> bool:
        """Whether the session's cookie outlives the browser; without a session, what a login
        through :meth:`start` would get by default."""
        session = self.session
        return session.persistent_cookie if session is not None else self.persistent_cookie_default

    @property
    def cookie_change(self) -> CookieChange | None:
        """What the response must do to the cookie, if anything."""
        return self._cookie_change

    def write_data(
        self,
        *,
        set: Mapping[str, JsonValue] | None = None,
        delete: Iterable[str] = (),
        expected_version: int | None = None,
    ) -> UserSession | None:
        """Set and delete keys of the session's data; every other stored key stays as it is.

        Without a session, a write that sets something starts an anonymous one (and its
        cookie); one that only deletes, or sets nothing, changes nothing and returns ``None``.
        ``expected_version`` makes it a compare-and-set (``ConcurrentUpdate`` if the session
        changed since that version); without it the last write of a key wins. Raises
        ``SessionDataTooLarge`` / ``InvalidSessionData`` (nothing written) and
        ``SessionNotFound`` if the session ended meanwhile. A write to an existing session
        needs no cookie, so it works after the response started; starting one does not.
        """
        values = dict(set or {})
        removed = frozenset(delete)
        current = self.session
        if current is None:
            if not values:
                return None
            self._check_open()
            started = self._sessions.start_anonymous_session(
                values, user_agent=self._user_agent, ip_address=self._ip_address
            )
            self._anonymous = started.context.session
            self._set(str(started.token), started.context.session)
            return self._anonymous
        if not values and not removed:
            return current
        written = self._sessions.write_session_data(
            current, set=values, delete=removed, expected_version=expected_version
        )
        if self._context is not None:
            self._context = attrs.evolve(self._context, session=written)
        else:
            self._anonymous = written
        return written

    def start(
        self,
        user_id: UserId,
        *,
        platform_id: PlatformId | None = None,
        attributes: Mapping[str, JsonValue] | None = None,
        lifetime: timedelta | None = None,
        persistent_cookie: bool | None = None,
    ) -> SessionContext:
        """Log in a user the application authenticated.

        The new session always gets a new token (no session fixation), and the browser's
        device and address are recorded for the "your sessions" page. A visitor's anonymous
        session is carried into the login: its data goes with the user, its token dies (as
        Django's ``cycle_key``). A logged-in session already here is ended first, its data
        with it. ``lifetime`` is this login's absolute lifetime (a "remember me" choice,
        within the policy's); ``persistent_cookie=False`` makes the cookie a browser-session
        one; ``None`` takes :attr:`persistent_cookie_default` (``True``).
        """
        self._check_open()
        if persistent_cookie is None:
            persistent_cookie = self.persistent_cookie_default
        if self._context is not None:
            self._sessions.end_session(self._context)
            self._context = None
        started = self._sessions.start_session(
            user_id,
            platform_id=platform_id,
            user_agent=self._user_agent,
            ip_address=self._ip_address,
            attributes=attributes,
            lifetime=lifetime,
            persistent_cookie=persistent_cookie,
            carry_from=self._anonymous,
        )
        self._anonymous = None  # carried into the login, and gone: its token no longer resolves
        self._context = started.context
        self._set(str(started.token), started.context.session)
        return started.context

    def rotate(self) -> SessionContext:
        """Give the session a new token (after a privilege change, say); its data stays."""
        rotated = self._sessions.rotate(self._require())
        assert rotated.context is not None  # handed a context, the rotation hands one back
        self._context = rotated.context
        self._set(str(rotated.token), rotated.session)
        return rotated.context

    def switch_platform(self, platform_id: PlatformId) -> SwitchOutcome:
        """Make ``platform_id`` the session's active platform (validated like any switch).

        If the policy rotates tokens on a switch, the new token goes into the cookie. The
        handle's context follows the outcome's, also when nothing changed because another
        request had switched first (the context then is as stored, not as resolved).
        """
        context = self._require()
        outcome = self._sessions.switch_platform(context, platform_id)
        if outcome.changed or outcome.session != context.session:
            self._context = outcome.context
        if outcome.new_token is not None:
            self._set(str(outcome.new_token), outcome.session)
        return outcome

    def end(self) -> bool:
        """Log out: end the session (a visitor's too) and clear the cookie; ``False`` if there
        was no logged-in session."""
        self._check_open()
        ended = self._sessions.end_session(self._context) if self._context is not None else False
        if self._anonymous is not None:
            self._sessions.end_session(self._anonymous)
        self._context = None
        self._anonymous = None
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
        # A persistent cookie lives exactly as long as the session can: its absolute expiry
        # (the idle timeout is judged by the server on every request). A browser-session
        # cookie has no Max-Age, so the browser drops it when it closes; rotations and
        # switches keep what the session was started with.
        if not session.persistent_cookie:
            self._cookie_change = SetCookie(token, None)
            return
        remaining = session.absolute_expires_at - self._sessions.clock.now()
        self._cookie_change = SetCookie(token, max(int(remaining.total_seconds()), 0))
