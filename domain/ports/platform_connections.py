"""Write side of platform connections, reached only through a unit of work."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime

from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection


class PlatformConnectionRepository(abc.ABC):
    """The platform connections as stored, inside one database transaction.

    Changes become visible to others only when the unit of work commits; the repository never
    commits by itself.
    """

    @abc.abstractmethod
    def get(self, platform_id: PlatformId) -> PlatformConnection | None:
        """The connection with this id, whoever owns it, or ``None``."""

    @abc.abstractmethod
    def list_for_user(self, user_id: UserId) -> Sequence[PlatformConnection]:
        """Every connection of ``user_id``, ordered by name."""

    @abc.abstractmethod
    def add(self, platform: PlatformConnection) -> None:
        """Store a new connection."""

    @abc.abstractmethod
    def update(self, platform: PlatformConnection) -> None:
        """Replace the stored fields of an existing connection with those of ``platform``.

        Raises :class:`PlatformNotFound` if it no longer exists.
        """

    @abc.abstractmethod
    def remove(self, platform_id: PlatformId) -> None:
        """Delete a connection; removing one that is already gone does nothing."""

    @abc.abstractmethod
    def stamp_last_used(self, platform_id: PlatformId, at: datetime) -> None:
        """Set the connection's ``last_used_at`` to ``at`` (one field, not a rewrite)."""
