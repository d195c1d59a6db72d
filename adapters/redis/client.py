"""Where Redis is and how to talk to it: one client (with its pool) per process.

Timeouts are short by default because Redis sits on every request's path: a server that does
not answer within half a second is better reported as unavailable (a 503, never a logout) than
waited for while the request's worker is blocked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import redis
from attrs import field, frozen
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from platform_sessions.adapters.redis.errors import redis_unavailable_as_store_error
from platform_sessions.adapters.redis.invalidation_listener import InvalidationListener, connection_factory
from platform_sessions.adapters.redis.near_cache import NearCache
from platform_sessions.domain.errors import InvalidInput

RedisClient = redis.Redis | RedisCluster
"""A single-server client (or fakeredis, which subclasses it) or a cluster client."""

DEFAULT_KEY_PREFIX = "ps:"


def _check_prefix(_: object, __: object, value: str) -> None:
    # Redis hashes only the first {...} of a key: a brace in the prefix would move every key
    # of a user to a slot of the prefix's choosing, and split a user's keys across slots.
    if "{" in value or "}" in value:
        raise InvalidInput("a Redis key prefix cannot contain '{' or '}'")
    if not value.isprintable():
        raise InvalidInput("a Redis key prefix must be printable")


def _positive(_: object, attribute: object, value: float) -> None:
    if value <= 0:
        raise InvalidInput(f"{getattr(attribute, 'name', 'value')} must be positive")


def _not_negative(_: object, attribute: object, value: int) -> None:
    if value < 0:
        raise InvalidInput(f"{getattr(attribute, 'name', 'value')} cannot be negative")


def _positive_duration(_: object, attribute: object, value: timedelta) -> None:
    if value <= timedelta(0):
        raise InvalidInput(f"{getattr(attribute, 'name', 'duration')} must be positive")


@frozen
class RedisOptions:
    """How the Redis storage behaves, whatever server it talks to.

    - ``key_prefix``: prepended to every key and channel (default ``ps:``).
    - ``connect_timeout`` / ``read_timeout``: seconds; short, for a per-request store.
    - ``retries``: attempts after a connection error (not after a timeout: a script that timed
      out may have run, and running a create twice would fail a login that succeeded; a
      cluster client's retry loop, which also follows failovers, retries timeouts too).
    - ``max_connections``: size of the pool (per node on a cluster).
    - ``platform_cache_ttl``: how long a user's cached platforms live without invalidation;
      only a safety net, since every committed change invalidates the user's entry.
    - ``publish_in_background``: hand events to a worker thread, so a request's path holds
      only its own round trips (events are best effort either way).
    - ``near_cache_size``: resolved sessions each process keeps, kept current by Redis's
      invalidation reports (``CLIENT TRACKING``), so a repeated resolve needs no round trip;
      ``0`` turns it off. Used with a single server only (not a cluster, not fakeredis).
    - ``near_cache_max_silence``: the longest a process trusts its near cache without proof
      that the invalidation connection still delivers (a PING answered); it bounds how stale
      an entry can get when that connection is cut without a word.
    """

    key_prefix: str = field(default=DEFAULT_KEY_PREFIX, validator=_check_prefix)
    connect_timeout: float = field(default=0.25, validator=_positive)
    read_timeout: float = field(default=0.5, validator=_positive)
    retries: int = field(default=1, validator=_not_negative)
    max_connections: int = field(default=50, validator=_positive)
    platform_cache_ttl: timedelta = field(default=timedelta(minutes=15), validator=_positive_duration)
    publish_in_background: bool = True
    near_cache_size: int = field(default=10_000, validator=_not_negative)
    near_cache_max_silence: timedelta = field(default=timedelta(seconds=2), validator=_positive_duration)


def _cluster_nodes(value: Sequence[tuple[str, int]] | None) -> tuple[tuple[str, int], ...] | None:
    if value is None:
        return None
    return tuple((str(host), int(port)) for host, port in value)


@frozen
class RedisEndpoint:
    """Exactly one of: a server URL, the startup nodes of a cluster, or an embedded fakeredis."""

    url: str | None = None
    cluster_nodes: tuple[tuple[str, int], ...] | None = field(default=None, converter=_cluster_nodes)
    embedded: bool = False

    def __attrs_post_init__(self) -> None:
        chosen = [self.url is not None, self.cluster_nodes is not None, self.embedded]
        if chosen.count(True) != 1:
            raise InvalidInput("a Redis endpoint is a URL, a list of cluster nodes, or embedded")
        if self.cluster_nodes is not None and not self.cluster_nodes:
            raise InvalidInput("a Redis Cluster needs at least one startup node")

    @classmethod
    def server(cls, url: str) -> RedisEndpoint:
        """One Redis server, e.g. ``redis://127.0.0.1:6379/0``."""
        return cls(url=url)

    @classmethod
    def cluster(cls, nodes: Sequence[tuple[str, int]]) -> RedisEndpoint:
        """A Redis Cluster, found through any of its nodes: ``[("10.0.0.1", 7000), ...]``."""
        return cls(cluster_nodes=tuple(nodes))

    @classmethod
    def in_process(cls) -> RedisEndpoint:
        """fakeredis with Lua, in this process: the embedded storage, nothing to run."""
        return cls(embedded=True)

    def describe(self) -> str:
        """Where this endpoint points, without credentials, for messages and logs."""
        if self.url is not None:
            parts = urlsplit(self.url)
            return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"
        if self.cluster_nodes is not None:
            return "cluster " + ",".join(f"{host}:{port}" for host, port in self.cluster_nodes)
        return "embedded fakeredis"


def open_redis_client(endpoint: RedisEndpoint, options: RedisOptions) -> RedisClient:
    """A new client with its connection pool.

    A single server's connections open on first use; a cluster client connects at once to
    learn the slot map (:class:`StoreUnavailable` if no startup node answers).

    Responses stay bytes (no ``decode_responses``): the adapters decode them and treat what
    does not decode as a corrupt payload, instead of redis-py raising mid-reply.
    """
    if endpoint.embedded:
        try:
            import fakeredis  # only the embedded storage needs it
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(
                "the in-process Redis (storage 'fakeredis', or 'two-tier' without a Redis server) "
                "needs fakeredis: pip install 'platform-sessions[fakeredis]'",
                name=error.name,
            ) from error

        return fakeredis.FakeRedis(server=fakeredis.FakeServer())
    if endpoint.cluster_nodes is not None:
        # A cluster client learns the slot map as it is built, so it connects right away.
        with redis_unavailable_as_store_error(f"connecting to the {endpoint.describe()}"):
            return _cluster_client(endpoint.cluster_nodes, options)
    assert endpoint.url is not None
    return redis.Redis.from_url(
        endpoint.url,
        socket_connect_timeout=options.connect_timeout,
        socket_timeout=options.read_timeout,
        retry=Retry(NoBackoff(), options.retries, supported_errors=(RedisConnectionError,)),
        max_connections=options.max_connections,
    )


def open_near_cache(endpoint: RedisEndpoint, options: RedisOptions) -> NearCache[Any] | None:
    """The near cache for ``endpoint``, or ``None`` where there is none.

    fakeredis is in this process already and has no client tracking; a cluster would need one
    invalidation connection per primary, following failovers (not built).
    """
    if endpoint.url is None or options.near_cache_size == 0:
        return None
    connect = connection_factory(
        endpoint.url, connect_timeout=options.connect_timeout, read_timeout=options.read_timeout
    )
    # Every key of the storage starts with the prefix and a brace (see RedisKeys).
    listener_max_silence = options.near_cache_max_silence.total_seconds()
    listener = InvalidationListener(connect, options.key_prefix + "{", max_silence_s=listener_max_silence)
    # Four beats per max_silence: a PING goes out at half of it and is answered well before it.
    return NearCache(listener, size=options.near_cache_size, heartbeat_s=listener_max_silence / 4)


def _cluster_client(nodes: Sequence[tuple[str, int]], options: RedisOptions) -> RedisCluster:
    return RedisCluster(
        startup_nodes=[
            ClusterNode(host, port)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            for host, port in nodes
        ],
        socket_connect_timeout=options.connect_timeout,
        socket_timeout=options.read_timeout,
        # The cluster client's retries also follow MOVED and failovers; keep them few.
        retry=Retry(NoBackoff(), options.retries),
        max_connections=options.max_connections,
    )
