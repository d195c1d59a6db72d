"""RedisPlatformDirectory: a read-through cache in front of another PlatformDirectory."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from platform_sessions.adapters.redis.platform_cache import RedisPlatformCache
from platform_sessions.adapters.redis.user_platforms import Generation, UserPlatforms
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.ports import PlatformDirectory

logger = logging.getLogger(__name__)


class RedisPlatformDirectory(PlatformDirectory):
    """Answers ``get`` and ``default_for`` from the user's cache entry, filled on a miss.

    - A hit costs one Redis round trip; a miss adds one backing read (the user's whole list,
      so later answers, "not found" included, are hits) and one fill.
    - ``invalidate`` (called by the platform connection use cases after they commit) drops the
      user's entry and bumps its generation, so a fill that read the backing store before the
      commit cannot write stale records back.
    - ``list_for_user`` is not cached: it serves settings pages, not every request, and reads
      the backing store so it shows ``last_used_at`` as stamped by the latest switch (a cached
      record's ``last_used_at`` is as of its fill; the stamp alone does not invalidate).
    """

    def __init__(self, cache: RedisPlatformCache, backing: PlatformDirectory) -> None:
        self._cache = cache
        self._backing = backing

    def get(self, user_id: UserId, platform_id: PlatformId) -> PlatformConnection | None:
        lookup = self._cache.read(user_id, platform_id)
        if lookup.hit:
            return lookup.requested
        return self.refill(user_id, lookup.generation).get(platform_id)

    def list_for_user(self, user_id: UserId) -> Sequence[PlatformConnection]:
        return self._backing.list_for_user(user_id)

    def default_for(self, user_id: UserId) -> PlatformConnection | None:
        lookup = self._cache.read(user_id, None)
        if lookup.hit:
            return lookup.default
        return self.refill(user_id, lookup.generation).default

    def invalidate(self, user_id: UserId) -> None:
        self._cache.invalidate(user_id)

    def refill(self, user_id: UserId, generation: Generation) -> UserPlatforms:
        """Read ``user_id``'s platforms from the backing directory and cache them.

        ``generation`` is the one the missed read saw. Returns what the backing store said,
        whether or not the fill was accepted.
        """
        platforms = UserPlatforms.from_list(self._backing.list_for_user(user_id))
        if not self._cache.fill(user_id, generation, platforms):
            logger.debug("a platform cache fill lost a race with an invalidation; not cached")
        return platforms
