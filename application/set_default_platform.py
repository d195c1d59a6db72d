"""SetDefaultPlatform: the platform new sessions start on."""

from __future__ import annotations

import attrs
from attrs import frozen

from platform_sessions.application.platform_use_case import PlatformUseCase
from platform_sessions.domain.errors import PlatformInactive
from platform_sessions.domain.events import PlatformChange
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection


@frozen
class SetDefaultPlatform(PlatformUseCase):
    """Make an active platform the user's only default (:class:`PlatformInactive` otherwise)."""

    def __call__(self, user_id: UserId, platform_id: PlatformId) -> PlatformConnection:
        with self.uow_factory() as uow:
            platform = self._owned(uow, user_id, platform_id)
            if not platform.is_active:
                raise PlatformInactive(f"platform {platform_id!r} is deactivated")
            if platform.is_default:
                return platform
            self._clear_other_defaults(uow, user_id, keep=platform.id)
            updated = attrs.evolve(platform, is_default=True)
            uow.platforms.update(updated)
            self._commit(uow, updated, PlatformChange.DEFAULT_SET)
        self._after_commit(uow, user_id)
        return updated
