"""Short-timeout Redis clients for probing and housekeeping, never for the code under test."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# Probes must answer fast: a dead or frozen server should cost a test run seconds, not minutes.
PROBE_TIMEOUT_S = 1.0


def probe_client(host: str, port: int, db: int = 0, timeout_s: float = PROBE_TIMEOUT_S) -> redis.Redis:
    return redis.Redis(
        host=host,
        port=port,
        db=db,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        # One attempt only: retries would multiply the wait on a dead or frozen server.
        retry=Retry(NoBackoff(), retries=0),
        decode_responses=True,
    )


def ping_error(host: str, port: int, db: int = 0, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """Why PING to the server failed, or None when it answered."""
    client = probe_client(host, port, db, timeout_s)
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError) as error:
        return f"{type(error).__name__}: {error}"
    finally:
        client.close()
    return None
