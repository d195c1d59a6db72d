"""DeactivatePlatform and ActivatePlatform: take an account out of use, or back into it."""

from __future__ import annotations

import attrs
from attrs import frozen

from platform_sessions.application.platform_use_case import PlatformUseCase
from platform_sessions.domain.events import PlatformChange
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection


@frozen
class DeactivatePlatform(PlatformUseCase):
    """Deactivate a platform: it stops being the default, and sessions on it move off it.

    Sessions whose active platform it was are moved to the user's default (or to none);
    resolving also falls back on every read, so none of them can keep working on it.
    """

    def __call__(self, user_id: UserId, platform_id: PlatformId) -> PlatformConnection:
        with self.uow_factory() as uow:
            platform = self._owned(uow, user_id, platform_id)
            if not platform.is_active:
                return platform
            updated = attrs.evolve(platform, is_active=False, is_default=False)
            uow.platforms.update(updated)
            self._commit(uow, updated, PlatformChange.DEACTIVATED)
        self._after_commit(uow, user_id)
        self._repoint_sessions(user_id, platform_id)
        return updated


@frozen
class ActivatePlatform(PlatformUseCase):
    """Make a deactivated platform usable again (it does not become the default by itself)."""

    def __call__(self, user_id: UserId, platform_id: PlatformId) -> PlatformConnection:
        with self.uow_factory() as uow:
            platform = self._owned(uow, user_id, platform_id)
            if platform.is_active:
                return platform
            updated = attrs.evolve(platform, is_active=True)
            uow.platforms.update(updated)
            self._commit(uow, updated, PlatformChange.ACTIVATED)
        self._after_commit(uow, user_id)
        return updated
