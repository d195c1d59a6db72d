"""What Redis failures become: the domain's :class:`StoreUnavailable`, never a raw redis error.

A store answers found, not found, or unavailable; only "not found" may make a caller treat a
user as anonymous, so a refused connection, a timeout or a cluster in trouble must never look
like a missing session.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import RedisClusterException, RedisError

from platform_sessions.domain.errors import StoreUnavailable


class CorruptPayload(Exception):
    """A stored value this code cannot decode; callers log it and treat it as not found.

    Internal to the adapter: it never leaves it.
    """


# RedisClusterException is not a RedisError (e.g. no node serves the slot).
REDIS_FAILURES = (RedisError, RedisClusterException)


def unavailable(action: str, error: BaseException) -> StoreUnavailable:
    """The :class:`StoreUnavailable` a Redis failure while doing ``action`` becomes."""
    return StoreUnavailable(f"Redis failed while {action}: {type(error).__name__}: {error}")


@contextmanager
def redis_unavailable_as_store_error(action: str) -> Iterator[None]:
    """Re-raise any Redis failure inside the block as :class:`StoreUnavailable`.

    ``action`` says what was being done ("resolving a session"), for the message.
    """
    try:
        yield
    except REDIS_FAILURES as error:
        raise unavailable(action, error) from error


_DIGEST_HEX = re.compile(r"[0-9a-f]{64}")


def loggable_key(key: str) -> str:
    """``key`` shortened for a log line: a digest is cut to 8 characters.

    A digest cannot be replayed as a cookie, but a log line has no need for all of it.
    """
    return _DIGEST_HEX.sub(lambda match: match.group(0)[:8] + "…", key)


def is_redis_failure(error: BaseException) -> bool:
    """Whether ``error`` (a :class:`StoreUnavailable`) came from Redis rather than another store."""
    return isinstance(error, StoreUnavailable) and isinstance(
        error.__cause__, (RedisError, RedisClusterException)
    )
