"""The in-memory platform directory: reads the committed platform connections."""

from __future__ import annotations

from collections.abc import Sequence

from platform_sessions.adapters.memory.platform_store import InMemoryPlatformStore
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.ports import PlatformDirectory


class InMemoryPlatformDirectory(PlatformDirectory):
    """Answers from the store's committed rows; caches nothing, so invalidation is a no-op."""

    def __init__(self, store: InMemoryPlatformStore) -> None:
        self._store = store

    def get(self, user_id: UserId, platform_id: PlatformId) -> PlatformConnection | None:
        platform = self._store.rows().get(platform_id)
        return platform if platform is not None and platform.user_id == user_id else None

    def list_for_user(self, user_id: UserId) -> Sequence[PlatformConnection]:
        return sorted(
            (p for p in self._store.rows().values() if p.user_id == user_id),
            key=lambda p: (p.name.lower(), p.id),
        )

    def default_for(self, user_id: UserId) -> PlatformConnection | None:
        return next((p for p in self.list_for_user(user_id) if p.is_default), None)

    def invalidate(self, user_id: UserId) -> None:
        return None
