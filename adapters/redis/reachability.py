"""Whether Redis answers, and whether it is a Redis this process may use (startup and health).

:func:`verify_redis` is the handshake a storage makes before trusting an endpoint: the reply
must be Redis's protocol (an endpoint that is not Redis is a configuration error, not an
outage to fall back from), the server must be a primary (a replica accepts reads and refuses
every write), and the routing key's fingerprint stored beside the data must be this
process's (a process with another key finds none of the others' sessions).
"""

from __future__ import annotations

import logging

from redis.cluster import RedisCluster
from redis.exceptions import AuthenticationError, InvalidResponse, ResponseError

from platform_sessions.adapters.redis.client import RedisClient
from platform_sessions.adapters.redis.errors import REDIS_FAILURES, redis_unavailable_as_store_error
from platform_sessions.domain.errors import MisconfiguredStore, StoreUnavailable

logger = logging.getLogger(__name__)

FINGERPRINT_KEY = "routing-key-fingerprint"
"""Under the key prefix (``ps:routing-key-fingerprint``); outside every user's hash tag."""


def redis_reachable(client: RedisClient) -> bool:
    """``True`` if a PING is answered (on a cluster: by the node redis-py picks)."""
    try:
        with redis_unavailable_as_store_error("pinging"):
            client.ping()
    except StoreUnavailable as error:
        logger.warning("health: Redis is unreachable: %s", error)
        return False
    return True


def fingerprint_key(prefix: str) -> str:
    """The key holding the routing key's fingerprint for the keys under ``prefix``."""
    return prefix + FINGERPRINT_KEY


def verify_redis(client: RedisClient, *, where: str, prefix: str, fingerprint: str | None) -> None:
    """Check that ``client``'s server is a writable Redis holding this routing key's data.

    Two round trips: ``ROLE``, then ``SET NX`` + ``GET`` of the fingerprint (written on first
    use). ``fingerprint`` ``None`` skips that (a key that does not outlive the process).
    Raises :class:`MisconfiguredStore` (not Redis, a replica, another key's data, refused
    credentials) or :class:`StoreUnavailable` (no answer); ``where`` names the endpoint.
    """
    try:
        _require_primary(client, where)
        if fingerprint is not None:
            _require_fingerprint(client, where, fingerprint_key(prefix), fingerprint)
    except InvalidResponse as error:
        raise MisconfiguredStore(
            f"{where} is not a Redis server: its reply is not the Redis protocol ({error})"
        ) from error
    except (AuthenticationError, ResponseError) as error:
        raise MisconfiguredStore(f"{where} refused this process: {error}") from error
    except REDIS_FAILURES as error:
        if "closed by server" in str(error):
            raise StoreUnavailable(
                f"{where} accepted the connection and closed it without a reply: not a Redis "
                f"server, or a proxy with no Redis behind it ({error})"
            ) from error
        raise StoreUnavailable(f"Redis at {where} is unreachable: {type(error).__name__}: {error}") from error


def _require_primary(client: RedisClient, where: str) -> None:
    if isinstance(client, RedisCluster):
        # A cluster client sends every write to the primary of its slot: no replica to meet.
        client.ping()
        return
    try:
        reply = client.execute_command("ROLE")  # type: ignore[no-untyped-call]  # untyped in redis-py
        role = reply[0]
    except ResponseError as error:
        if "unknown command" not in str(error).lower():
            raise
        # ROLE renamed or disabled (some managed services): INFO says the same.
        role = client.info("replication").get("role", "master")
    if isinstance(role, bytes):
        role = role.decode("ascii", "replace")
    if role != "master":
        raise MisconfiguredStore(
            f"{where} is a read-only {role} (a replica): it would accept logins and refuse their "
            "every write; point the storage at the primary"
        )


def _require_fingerprint(client: RedisClient, where: str, key: str, fingerprint: str) -> None:
    pipeline = client.pipeline(transaction=False)
    pipeline.set(key, fingerprint, nx=True)
    pipeline.get(key)
    _, stored = pipeline.execute()
    if isinstance(stored, bytes):
        stored = stored.decode("ascii", "replace")
    if stored != fingerprint:
        raise MisconfiguredStore(
            f"routing key mismatch: the data at {where} (key {key!r}) was written with the routing "
            f"key whose fingerprint is {stored}, this process has {fingerprint}; every process "
            "must share one routing key"
        )
