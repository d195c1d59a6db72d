"""Which storage is under test, and how to open a facade on it: the one parameter of a run.

``redis``: sessions in Redis, platform connections in memory (``bootstrap(redis_url=...)``).
``sql``: everything in the database (``bootstrap(database_url=...)``).
``two-tier``: Redis in front of SQL (``bootstrap(redis_url=..., database_url=...)``), when
the installed library has it; ``auto`` picks it if it does, else ``redis``.
"""

from __future__ import annotations

import contextlib
import enum
import secrets

import attrs
import redis
from attrs import frozen

from platform_sessions.adapters.redis import RedisOptions
from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.ports import Clock
from platform_sessions.entrypoints import bootstrap
from platform_sessions.entrypoints.facade import PlatformSessions

SCAN_BATCH = 1000


class StorageKind(enum.Enum):
    REDIS = "redis"
    SQL = "sql"
    TWO_TIER = "two-tier"

    @property
    def uses_redis(self) -> bool:
        return self is not StorageKind.SQL

    @property
    def uses_sql(self) -> bool:
        return self is not StorageKind.REDIS


@frozen
class Servers:
    """Where a run's data goes: server URLs, and names no other user of those servers has.

    The key prefix is unique per run, so the run's keys on a shared Redis can be removed
    afterwards without touching anyone else's (never FLUSHDB a shared server); the routing key
    is fixed for the run, so every facade, thread and process finds the same keys.
    """

    redis_url: str
    database_url: str
    key_prefix: str
    routing_key: str

    @classmethod
    def for_run(cls, redis_url: str, database_url: str) -> Servers:
        return cls(redis_url, database_url, f"bench-{secrets.token_hex(4)}:", secrets.token_hex(32))

    def with_redis(self, redis_url: str) -> Servers:
        return Servers(redis_url, self.database_url, self.key_prefix, self.routing_key)


def open_facade(
    kind: StorageKind, servers: Servers, *, clock: Clock | None = None, near_cache: bool = True
) -> PlatformSessions:
    """A facade on ``kind`` with the library's default settings (only the key prefix is ours).

    ``near_cache=False`` turns the per-process near cache off, so that every resolve takes
    its round trip: what a session not yet (or no longer) in the near cache costs.
    """
    options = RedisOptions(key_prefix=servers.key_prefix)
    if not near_cache:
        options = attrs.evolve(options, near_cache_size=0)
    if kind is StorageKind.REDIS:
        return bootstrap(
            redis_url=servers.redis_url, routing_key=servers.routing_key, redis_options=options, clock=clock
        )
    if kind is StorageKind.SQL:
        return bootstrap(database_url=servers.database_url, clock=clock)
    return bootstrap(
        redis_url=servers.redis_url,
        database_url=servers.database_url,
        routing_key=servers.routing_key,
        redis_options=options,
        clock=clock,
    )


def two_tier_available(servers: Servers) -> bool:
    """Whether this library's ``bootstrap`` accepts a Redis and a database URL together.

    Building the facade connects nowhere (clients and engines open on first use), so this
    costs nothing; an older library refuses the combination with ``InvalidInput``.
    """
    try:
        facade = open_facade(StorageKind.TWO_TIER, servers)
    except (InvalidInput, TypeError):
        return False
    facade.close()
    return True


def chosen_kinds(requested: str, servers: Servers) -> list[StorageKind]:
    """The storages a run measures: ``auto``, one name, or several separated by commas."""
    kinds: list[StorageKind] = []
    for raw_name in requested.split(","):
        name = raw_name.strip()
        if name == "auto":
            kinds.append(StorageKind.TWO_TIER if two_tier_available(servers) else StorageKind.REDIS)
        else:
            kinds.append(StorageKind(name))
    return kinds


def delete_run_keys(redis_url: str, key_prefix: str) -> int:
    """Remove this run's keys from a shared Redis (SCAN by prefix; never a FLUSH)."""
    deleted = 0
    with contextlib.closing(redis.Redis.from_url(redis_url, socket_timeout=30)) as client:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{key_prefix}*", count=SCAN_BATCH):
            batch.append(key)
            if len(batch) >= SCAN_BATCH:
                deleted += client.unlink(*batch)
                batch.clear()
        if batch:
            deleted += client.unlink(*batch)
    return deleted
