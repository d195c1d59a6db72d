"""What a health report says of a near cache: its size, whether it is listening, its counters."""

from __future__ import annotations

import attrs

from platform_sessions.adapters.redis.near_cache import NearCache


def near_cache_counters(near_cache: NearCache[object] | None) -> dict[str, int]:
    """``near_cache_*`` counters for :class:`StorageHealth`, none without a near cache.

    ``near_cache_listening`` is 0 while the cache is not consulted (its invalidation connection
    is down, unverified, or refused by the server), so every resolve takes its round trip.
    """
    if near_cache is None:
        return {}
    counters = {f"near_cache_{name}": value for name, value in attrs.asdict(near_cache.stats).items()}
    counters["near_cache_entries"] = len(near_cache)
    counters["near_cache_listening"] = int(near_cache.listener.listening)
    return counters
