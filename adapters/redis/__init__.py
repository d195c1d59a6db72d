"""Redis adapters: sessions, the platform cache, the one-round-trip resolve, and events.

Every key of one user shares one Redis Cluster hash slot (a hash tag built from the routing
tag), so every mutation is one atomic Lua script on a single server and on a cluster alike.
See architecture.md, "Redis".
"""

from platform_sessions.adapters.redis.background_publisher import BackgroundEventPublisher
from platform_sessions.adapters.redis.client import (
    RedisClient,
    RedisEndpoint,
    RedisOptions,
    open_near_cache,
    open_redis_client,
)
from platform_sessions.adapters.redis.event_bus import (
    RedisEventBus,
    close_event_publisher,
    open_event_publisher,
)
from platform_sessions.adapters.redis.event_publisher import RedisEventPublisher
from platform_sessions.adapters.redis.event_subscriber import RedisEventSubscriber
from platform_sessions.adapters.redis.keys import RedisKeys
from platform_sessions.adapters.redis.near_cache import NearCache
from platform_sessions.adapters.redis.platform_cache import RedisPlatformCache
from platform_sessions.adapters.redis.platform_directory import RedisPlatformDirectory
from platform_sessions.adapters.redis.session_contexts import RedisSessionContextQuery
from platform_sessions.adapters.redis.user_sessions import RedisUserSessionRepository

__all__ = [
    "BackgroundEventPublisher",
    "NearCache",
    "RedisClient",
    "RedisEndpoint",
    "RedisEventBus",
    "RedisEventPublisher",
    "RedisEventSubscriber",
    "RedisKeys",
    "RedisOptions",
    "RedisPlatformCache",
    "RedisPlatformDirectory",
    "RedisSessionContextQuery",
    "RedisUserSessionRepository",
    "close_event_publisher",
    "open_event_publisher",
    "open_near_cache",
    "open_redis_client",
]
