"""The read side of resolving a request's session, as one query.

Why a port of its own: resolving needs the session, a touch when one is due, and the
platform records that validate its active platform. Through the repository and directory
ports that is two or three round trips; a store that keeps a user's session and platform
cache side by side (Redis, in one hash slot) answers all of it in one. The use case keeps
the decisions (expiry, fallback, override); the query only fetches and touches.
"""

from __future__ import annotations

import abc
from datetime import datetime

from platform_sessions.domain.context import SessionSnapshot
from platform_sessions.domain.ids import PlatformId
from platform_sessions.domain.token import TokenDigest


class SessionContextQuery(abc.ABC):
    """Loads a session and the platform records its context needs, in one step."""

    @abc.abstractmethod
    def load(
        self,
        digest: TokenDigest,
        *,
        now: datetime,
        requested_platform_id: PlatformId | None = None,
    ) -> SessionSnapshot | None:
        """The session with this token digest and its platforms, or ``None`` if there is none.

        If the session is live at ``now`` and its touch interval has passed, it is touched
        (as :meth:`UserSessionRepository.touch`) in the same step and the snapshot shows the
        touched session; an expired session is returned untouched for the caller to judge.
        The snapshot carries the directory's owner-checked records of the session's active
        platform, the user's default platform, and ``requested_platform_id`` if given.
        """
