"""The physical limit of a resolve: one redis-py GET of a session-sized value.

It goes through a client built by the library's own ``open_redis_client`` with the library's
default ``RedisOptions`` (timeouts, retry, pool), so the only difference from a resolve is what
the library adds: parsing the token, the script, decoding, the rules.
"""

from __future__ import annotations

import secrets

from benchmarks.timing import Operation
from platform_sessions.adapters.redis import RedisClient, RedisEndpoint, RedisOptions, open_redis_client
from platform_sessions.adapters.redis.session_codec import encode_session
from platform_sessions.domain.session import UserSession

BASELINE_NAME = "baseline: one redis-py GET"


def stored_session_size(session: UserSession, user_label: str) -> int:
    """Bytes of a session as the Redis store keeps it: every field name and value."""
    fields = encode_session(session, user_label)
    return sum(len(name.encode()) + len(value.encode()) for name, value in fields.items())


class Baseline:
    """A session-sized string under a key of the run's prefix, and the client that GETs it."""

    def __init__(self, redis_url: str, key_prefix: str, value_size: int) -> None:
        self.client: RedisClient = open_redis_client(RedisEndpoint.server(redis_url), RedisOptions())
        self.key = f"{key_prefix}baseline:{secrets.token_hex(4)}"
        self.value_size = value_size
        self.client.set(self.key, secrets.token_bytes(value_size), ex=3600)

    def operation(self) -> Operation:
        key, client = self.key, self.client

        def get() -> None:
            if client.get(key) is None:
                raise AssertionError("the baseline value is gone")

        return Operation(BASELINE_NAME, get)

    def close(self) -> None:
        self.client.delete(self.key)
        self.client.close()
