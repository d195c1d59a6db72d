"""Every error the library raises on purpose derives from :class:`PlatformSessionsError`.

Callers catch the narrow class they can act on; the web middleware maps the "no valid session"
family to an anonymous request and :class:`StoreUnavailable` to a 503, never to a logout.
"""

from __future__ import annotations

import enum


class PlatformSessionsError(Exception):
    """Base class of every error raised by platform-sessions."""


class InvalidInput(PlatformSessionsError, ValueError):
    """An argument failed validation before any store was touched; nothing was changed."""


class MalformedToken(InvalidInput):
    """The session token is not of the format the library issues (checked before any I/O)."""


class InvalidAttributes(InvalidInput):
    """Session attributes are not JSON-safe or exceed the size cap."""


class InvalidSessionData(InvalidInput):
    """A change of a session's data is malformed: a key that is empty, too long or not a
    string, a value that JSON cannot hold, or a key both set and deleted."""


class SessionDataTooLarge(InvalidSessionData):
    """A value, or the session's whole data once merged, exceeds the policy's size limit;
    nothing was written."""


class SessionNotFound(PlatformSessionsError):
    """No live session answers to this token: it never existed, was ended, or was rotated."""


class NotLoggedIn(SessionNotFound):
    """The session is anonymous (a visitor's): no user is logged in on it.

    A :class:`SessionNotFound`, because to anything that needs a user (a sessions page, a
    platform switch) an anonymous session is no login.
    """


class ExpiryReason(enum.Enum):
    """Which of the two timeouts ended a session."""

    IDLE = "idle"
    ABSOLUTE = "absolute"


class SessionExpired(SessionNotFound):
    """The session exists but its idle or absolute deadline has passed.

    It subclasses :class:`SessionNotFound` because, to a caller, an expired session is no
    session; ``reason`` says which deadline passed for logs and messages.
    """

    def __init__(self, reason: ExpiryReason) -> None:
        super().__init__(f"session expired ({reason.value} timeout)")
        self.reason = reason


class PlatformNotFound(PlatformSessionsError):
    """No such platform connection for this user.

    Also raised for a platform owned by another user, so that ids cannot be enumerated.
    """


class PlatformInactive(PlatformSessionsError):
    """The platform connection exists and belongs to the user but is deactivated."""


class PlatformAlreadyConnected(PlatformSessionsError):
    """The user already connected this account (same platform type, instance and username)."""


class ConcurrentUpdate(PlatformSessionsError):
    """Another writer changed the record since it was read (its version moved on)."""


class StoreUnavailable(PlatformSessionsError):
    """A store could not answer (refused, timed out, broken): not the same as "not found"."""


class CommitOutcomeUnknown(StoreUnavailable):
    """The store lost its connection while committing a change: the change may or may not
    have been stored.

    A :class:`StoreUnavailable` (a 503 to a web request), because nothing can be promised
    yet. The use cases that change a user session resolve it where they can (a re-read shows
    whether the change is there; versioned writes make a retry apply it at most once), so a
    caller meets this only when the store cannot be asked either. ``settled`` says whether the
    store had finished the lost transaction when the error was raised, so that a read made now
    tells the outcome; when it is ``False``, the commit may still land later.
    """

    def __init__(self, message: str, *, settled: bool) -> None:
        super().__init__(message)
        self.settled = settled


class ConfigurationError(PlatformSessionsError):
    """The configuration is wrong, or does not fit the store it names; raised while starting,
    before anything is written."""


class InvalidSetting(ConfigurationError, InvalidInput):
    """A setting (an argument, an environment variable, a file) does not parse; ``setting``
    names it, so the message points at what to fix."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting


class MisconfiguredStore(ConfigurationError):
    """A configured store answers but cannot be this process's store as configured: another
    routing key's data, a read-only replica, an endpoint that does not speak Redis."""
