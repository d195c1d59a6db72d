"""Read side of platform connections, used to validate a session's platform on every request."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection


class PlatformDirectory(abc.ABC):
    """Answers "which platforms does this user have", possibly from a cache."""

    @abc.abstractmethod
    def get(self, user_id: UserId, platform_id: PlatformId) -> PlatformConnection | None:
        """The platform ``platform_id`` if ``user_id`` owns it, active or not; else ``None``.

        A platform owned by someone else is ``None`` too, so ids cannot be probed.
        Raises :class:`StoreUnavailable` when the directory cannot answer.
        """

    @abc.abstractmethod
    def list_for_user(self, user_id: UserId) -> Sequence[PlatformConnection]:
        """Every platform connection of ``user_id``, active or not, ordered by name."""

    @abc.abstractmethod
    def default_for(self, user_id: UserId) -> PlatformConnection | None:
        """The user's default platform, if they have one (it may be inactive)."""

    @abc.abstractmethod
    def invalidate(self, user_id: UserId) -> None:
        """Forget anything cached about ``user_id``'s platforms.

        Called by the platform connection use cases after they commit. A directory that
        caches nothing does nothing.
        """
