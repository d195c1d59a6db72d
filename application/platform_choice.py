"""Which platform a session may work on: the rules shared by start, resolve and switch."""

from __future__ import annotations

from platform_sessions.domain.errors import PlatformInactive, PlatformNotFound
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection


def require_usable(
    platform: PlatformConnection | None, user_id: UserId, platform_id: PlatformId
) -> PlatformConnection:
    """``platform`` if ``user_id`` owns it and it is active.

    Raises :class:`PlatformNotFound` (also when someone else owns it: no enumeration) or
    :class:`PlatformInactive`.
    """
    if platform is None or platform.user_id != user_id:
        raise PlatformNotFound(f"no platform {platform_id!r} for this user")
    if not platform.is_active:
        raise PlatformInactive(f"platform {platform_id!r} is deactivated")
    return platform


def usable_or_none(platform: PlatformConnection | None, user_id: UserId) -> PlatformConnection | None:
    """``platform`` if ``user_id`` may work on it, else ``None``."""
    if platform is not None and platform.is_usable_by(user_id):
        return platform
    return None
