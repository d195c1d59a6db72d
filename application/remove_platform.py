"""RemovePlatform: disconnect an account for good."""

from __future__ import annotations

from attrs import frozen

from platform_sessions.application.platform_use_case import PlatformUseCase
from platform_sessions.domain.events import PlatformChange
from platform_sessions.domain.ids import PlatformId, UserId


@frozen
class RemovePlatform(PlatformUseCase):
    """Delete a user's platform connection and move sessions that were on it off it.

    If it was the default, the user has no default until they choose one: picking another
    account for them would be a guess.
    """

    def __call__(self, user_id: UserId, platform_id: PlatformId) -> None:
        with self.uow_factory() as uow:
            platform = self._owned(uow, user_id, platform_id)
            uow.platforms.remove(platform.id)
            self._commit(uow, platform, PlatformChange.REMOVED)
        self._after_commit(uow, user_id)
        self._repoint_sessions(user_id, platform_id)
