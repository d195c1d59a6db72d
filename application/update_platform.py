"""UpdatePlatform: rename a connection or correct its instance URL or username."""

from __future__ import annotations

import attrs
from attrs import frozen

from platform_sessions.application.platform_use_case import PlatformUseCase
from platform_sessions.domain.errors import PlatformAlreadyConnected
from platform_sessions.domain.events import PlatformChange
from platform_sessions.domain.ids import PlatformId, UserId, checked_id
from platform_sessions.domain.platform import PlatformConnection, checked_instance_url, checked_name


@frozen
class UpdatePlatform(PlatformUseCase):
    """Change the descriptive fields of a user's platform connection; ``None`` keeps a field."""

    def __call__(
        self,
        user_id: UserId,
        platform_id: PlatformId,
        *,
        name: str | None = None,
        instance_url: str | None = None,
        username: str | None = None,
    ) -> PlatformConnection:
        # Validate before any I/O.
        new_name = checked_name(name) if name is not None else None
        new_url = checked_instance_url(instance_url) if instance_url is not None else None
        new_username = checked_id(username, "username") if username is not None else None
        with self.uow_factory() as uow:
            platform = self._owned(uow, user_id, platform_id)
            updated = attrs.evolve(
                platform,
                name=new_name or platform.name,
                instance_url=new_url or platform.instance_url,
                username=new_username or platform.username,
            )
            if updated == platform:
                return platform
            others = [p for p in uow.platforms.list_for_user(user_id) if p.id != platform.id]
            if any(updated.is_same_account(other) for other in others):
                raise PlatformAlreadyConnected("another connection already points at that account")
            uow.platforms.update(updated)
            self._commit(uow, updated, PlatformChange.UPDATED)
        self._after_commit(uow, user_id)
        return updated
