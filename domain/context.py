"""Read models: what resolving a session gives a request, and what a sessions page lists."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from attrs import frozen

from platform_sessions.domain.attributes import JsonValue
from platform_sessions.domain.client import ClientInfo
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.session import UserSession


@frozen
class SessionSnapshot:
    """A stored session read together with the platform records its context needs.

    Platform records are the directory's answers, owner-checked: ``None`` where the directory
    has no such platform for the session's user.
    """

    session: UserSession
    active_platform: PlatformConnection | None = None
    default_platform: PlatformConnection | None = None
    requested_platform: PlatformConnection | None = None


@frozen
class SessionContext:
    """What a request knows about its session after resolving the token.

    ``platform`` is the platform this request works on: the session's active platform, or
    the per-request override, or the user's default when the active one was deactivated or
    removed since (``platform_fell_back``), or none.
    """

    session: UserSession
    platform: PlatformConnection | None
    platform_fell_back: bool = False
    is_override: bool = False

    @property
    def user_id(self) -> UserId | None:
        """The logged-in user; ``None`` for an anonymous (visitor) session."""
        return self.session.user_id

    @property
    def logged_in_user_id(self) -> UserId:
        """The logged-in user; raises :class:`NotLoggedIn` for an anonymous session."""
        return self.session.logged_in_user_id

    @property
    def is_anonymous(self) -> bool:
        """Whether no user is logged in on this session."""
        return self.session.is_anonymous

    @property
    def data(self) -> Mapping[str, JsonValue]:
        """The session's mutable data (what ``flask.session`` shows)."""
        return self.session.data

    @property
    def handle(self) -> str:
        """The session's public handle."""
        return self.session.handle

    @property
    def platform_id(self) -> PlatformId | None:
        """The id of the platform this request works on, if any."""
        return self.platform.id if self.platform else None

    @property
    def csrf_token(self) -> str:
        """The synchronizer token that unsafe requests of this session must echo."""
        return self.session.csrf_token

    @property
    def attributes(self) -> Mapping[str, JsonValue]:
        """The application's attributes set at login or since."""
        return self.session.attributes


@frozen
class SessionSummary:
    """One row of a "your sessions" page: no token, no internal id."""

    handle: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client: ClientInfo
    active_platform_id: PlatformId | None
    is_current: bool
