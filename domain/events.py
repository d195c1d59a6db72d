"""Domain events: what happened, in the past tense, for other workers and browser tabs.

Events carry the session's public ``handle``, never its internal id or token, because they are
published to places (pub/sub channels, a browser's event stream) outside the server's trust.
"""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import frozen

from platform_sessions.domain.ids import PlatformId, UserId


@frozen(kw_only=True)
class DomainEvent:
    """Base of every event: whose it is and when it happened."""

    user_id: UserId
    occurred_at: datetime

    @property
    def name(self) -> str:
        """The event's name on the wire, e.g. ``PlatformSwitched``."""
        return type(self).__name__


class EndReason(enum.Enum):
    """Why a session ended."""

    LOGOUT = "logout"
    REVOKED = "revoked"
    EVICTED = "evicted"


class PlatformChange(enum.Enum):
    """What happened to a platform connection."""

    CONNECTED = "connected"
    UPDATED = "updated"
    DEFAULT_SET = "default_set"
    ACTIVATED = "activated"
    DEACTIVATED = "deactivated"
    REMOVED = "removed"


@frozen(kw_only=True)
class SessionStarted(DomainEvent):
    """A user logged in on a device."""

    session_handle: str
    platform_id: PlatformId | None


@frozen(kw_only=True)
class PlatformSwitched(DomainEvent):
    """A session's active platform changed."""

    session_handle: str
    from_platform_id: PlatformId | None
    to_platform_id: PlatformId


@frozen(kw_only=True)
class SessionRotated(DomainEvent):
    """A session got a new token; its data and handle stay."""

    session_handle: str


@frozen(kw_only=True)
class SessionEnded(DomainEvent):
    """One session ended (logout, revoked from another device, or evicted by the limit)."""

    session_handle: str
    reason: EndReason


@frozen(kw_only=True)
class UserSessionsEnded(DomainEvent):
    """All of a user's sessions ended, except ``kept_session_handle`` if one was kept."""

    ended_count: int
    kept_session_handle: str | None


@frozen(kw_only=True)
class PlatformConnectionChanged(DomainEvent):
    """A platform connection was connected, changed, made default, (de)activated or removed."""

    platform_id: PlatformId
    change: PlatformChange
