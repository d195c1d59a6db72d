"""The platform cache: one hash per routing tag, a user's fields prefixed with their label.

Why per tag and not per user: resolving knows only the token digest, hence the tag, until the
script has read the session; a key named after the user's label could not be declared to the
script up front. A hash named after the tag can, and the label read from the session picks the
user's fields inside it. Tags collide rarely (40 bits), so such a hash holds one user's fields
almost always; when two users share it their fields stay apart by label.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from platform_sessions.adapters.redis.client import RedisClient
from platform_sessions.adapters.redis.errors import CorruptPayload, redis_unavailable_as_store_error
from platform_sessions.adapters.redis.keys import RedisKeys
from platform_sessions.adapters.redis.platform_codec import decode_platform, encode_platform
from platform_sessions.adapters.redis.replies import optional_text
from platform_sessions.adapters.redis.scripts import register
from platform_sessions.adapters.redis.user_platforms import Generation, PlatformLookup, UserPlatforms
from platform_sessions.domain.ids import PlatformId, UserId
from platform_sessions.domain.platform import PlatformConnection
from platform_sessions.domain.token import RoutingTag

logger = logging.getLogger(__name__)

_FILLED = "1"


class RedisPlatformCache:
    """Reads, fills and invalidates users' entries; each operation is one round trip."""

    def __init__(self, client: RedisClient, keys: RedisKeys, *, ttl: timedelta) -> None:
        self._keys = keys
        self._ttl_ms = max(1, ttl // timedelta(milliseconds=1))
        self._read = register(client, "read_platforms")
        self._fill = register(client, "fill_platforms")
        self._invalidate = register(client, "invalidate_platforms")

    def read(self, user_id: UserId, platform_id: PlatformId | None) -> PlatformLookup:
        """``user_id``'s default platform and ``platform_id`` from the cache, or a miss."""
        tag, label = self._keys.tag_for(user_id), self._keys.label_for(user_id)
        with redis_unavailable_as_store_error("reading cached platforms"):
            reply = self._read(keys=[self._keys.platform_cache(tag)], args=[label, platform_id or ""])
        return self.parse(reply, user_id, tag)

    def fill(self, user_id: UserId, generation: Generation, platforms: UserPlatforms) -> bool:
        """Cache ``platforms`` unless ``user_id``'s entry was invalidated since ``generation``."""
        tag, label = self._keys.tag_for(user_id), self._keys.label_for(user_id)
        args: list[str | int | bytes] = [label, generation, self._ttl_ms, platforms.default_id or ""]
        for platform in platforms.by_id.values():
            args.extend((platform.id, encode_platform(platform)))
        with redis_unavailable_as_store_error("caching platforms"):
            filled = self._fill(keys=[self._keys.platform_cache(tag)], args=args)
        return bool(filled)

    def invalidate(self, user_id: UserId) -> None:
        """Forget ``user_id``'s entry; fills that read the backing store before this are refused."""
        tag, label = self._keys.tag_for(user_id), self._keys.label_for(user_id)
        with redis_unavailable_as_store_error("invalidating cached platforms"):
            self._invalidate(keys=[self._keys.platform_cache(tag)], args=[label, self._ttl_ms])

    def parse(self, reply: Sequence[object], user_id: UserId, tag: RoutingTag) -> PlatformLookup:
        """A lookup from ``read_platforms``' reply (also part of the resolve script's reply).

        A record that does not decode makes the whole entry a miss, so it is refilled from the
        backing directory instead of failing the request.
        """
        filled, generation, default_id, active, default, requested = reply
        # Passed back to a fill as read, byte for byte, whatever it holds.
        generation_value = generation if isinstance(generation, bytes | str) else b"0"
        try:
            if optional_text(filled) != _FILLED:
                return PlatformLookup.miss(generation_value)
            decoded_active = self._decode(active, user_id)
            # The active platform usually is the default: the same record, decoded once.
            decoded_default = decoded_active if default == active else self._decode(default, user_id)
            lookup = PlatformLookup(
                hit=True,
                generation=generation_value,
                active=decoded_active,
                default=decoded_default,
                requested=self._decode(requested, user_id),
            )
            if optional_text(default_id) and lookup.default is None:
                raise CorruptPayload("the default platform's record is missing")
        except CorruptPayload as error:
            logger.warning(
                "an undecodable entry in %s is treated as a cache miss: %s",
                self._keys.platform_cache(tag),
                error,
            )
            return PlatformLookup.miss(generation_value)
        return lookup

    @staticmethod
    def _decode(record: object, user_id: UserId) -> PlatformConnection | None:
        if record is None:
            return None
        if not isinstance(record, bytes | str):
            raise CorruptPayload(f"a platform record is a {type(record).__name__}, not text")
        return decode_platform(record, user_id)
