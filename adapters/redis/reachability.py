"""Whether Redis answers: one PING, for health reports."""

from __future__ import annotations

import logging

from platform_sessions.adapters.redis.client import RedisClient
from platform_sessions.adapters.redis.errors import redis_unavailable_as_store_error
from platform_sessions.domain.errors import StoreUnavailable

logger = logging.getLogger(__name__)


def redis_reachable(client: RedisClient) -> bool:
    """``True`` if a PING is answered (on a cluster: by the node redis-py picks)."""
    try:
        with redis_unavailable_as_store_error("pinging"):
            client.ping()
    except StoreUnavailable as error:
        logger.warning("health: Redis is unreachable: %s", error)
        return False
    return True
