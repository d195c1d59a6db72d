"""Translation between ``platform_connections`` rows and ``PlatformConnection`` entities."""

from __future__ import annotations

from typing import Any

from platform_sessions.adapters.sqlalchemy.tables import PlatformConnectionColumns
from platform_sessions.domain.platform import PlatformConnection


def platform_from_row(row: PlatformConnectionColumns) -> PlatformConnection:
    """The entity a stored row describes (audit columns are the adapter's own, left out)."""
    return PlatformConnection(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        platform_type=row.platform_type,
        instance_url=row.instance_url,
        username=row.username,
        is_active=row.is_active,
        is_default=row.is_default,
        last_used_at=row.last_used_at,
    )


def platform_values(platform: PlatformConnection) -> dict[str, Any]:
    """The columns an update replaces: everything but the id and ``last_used_at``.

    ``last_used_at`` is only ever written by ``stamp_last_used``, so a rename racing a switch
    keeps the switch's stamp.
    """
    return {
        "user_id": platform.user_id,
        "name": platform.name,
        "platform_type": platform.platform_type,
        "instance_url": platform.instance_url,
        "username": platform.username,
        "is_active": platform.is_active,
        "is_default": platform.is_default,
    }
