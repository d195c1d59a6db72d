"""ConnectPlatform: a user adds an account on an external platform."""

from __future__ import annotations

import attrs
from attrs import frozen

from platform_sessions.application.platform_use_case import PlatformUseCase
from platform_sessions.domain.errors import PlatformAlreadyConnected
from platform_sessions.domain.events import PlatformChange
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.platform import PlatformConnection


@frozen
class ConnectPlatform(PlatformUseCase):
    """Store a new, active platform connection.

    It becomes the default if asked to, or if the user has no active default yet (a user's
    first platform is their default). Raises :class:`PlatformAlreadyConnected` for the same
    account twice and :class:`InvalidInput` for bad fields, before any I/O.
    """

    def __call__(
        self,
        user_id: UserId,
        *,
        name: str,
        platform_type: str,
        instance_url: str,
        username: str,
        make_default: bool = False,
    ) -> PlatformConnection:
        candidate = PlatformConnection.connect(
            user_id=user_id,
            name=name,
            platform_type=platform_type,
            instance_url=instance_url,
            username=username,
        )
        with self.uow_factory() as uow:
            existing = uow.platforms.list_for_user(candidate.user_id)
            if any(candidate.is_same_account(other) for other in existing):
                raise PlatformAlreadyConnected(
                    f"{candidate.username} on {candidate.instance_url} is already connected"
                )
            has_default = any(other.is_default and other.is_active for other in existing)
            is_default = make_default or not has_default
            if is_default:
                self._clear_other_defaults(uow, candidate.user_id, keep=None)
            platform = attrs.evolve(candidate, is_default=is_default)
            uow.platforms.add(platform)
            self._commit(uow, platform, PlatformChange.CONNECTED)
        self._after_commit(uow, platform.user_id)
        return platform
