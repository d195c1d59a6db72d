"""The three Redis legs every Redis test can run on, and the checks run after each test.

- ``fakeredis``: in process, with Lua (lupa); always available.
- ``server``: the shared Redis at 127.0.0.1:6379, database 9, flushed before and after.
- ``cluster``: a private three-master Redis Cluster the test session starts on loopback.

The real legs skip with a reason where their server is absent (fail under
PLATFORM_SESSIONS_REQUIRE_SERVICES=1), through the fixtures of tests/support/services.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest
from redis.cluster import ClusterNode, RedisCluster

from platform_sessions.adapters.redis import RedisClient, RedisEndpoint, RedisOptions, open_redis_client

LEGS = ("fakeredis", "server", "cluster")

# A session token anywhere: <routing tag>.<43 base64url characters>.
TOKEN_PATTERN = re.compile(rb"[a-z2-7]{8}\.[A-Za-z0-9_-]{43}")
# Tests wait for Redis a little longer than production would, so a busy CI machine is no failure.
TEST_OPTIONS = RedisOptions(connect_timeout=2.0, read_timeout=5.0)


def open_leg(request: pytest.FixtureRequest, leg: str) -> RedisClient:
    """A client of ``leg``, empty; the leg's service fixture is requested only for that leg."""
    if leg == "fakeredis":
        return fakeredis.FakeRedis(server=fakeredis.FakeServer())
    if leg == "server":
        url: str = request.getfixturevalue("clean_redis_url")
        return open_redis_client(RedisEndpoint.server(url), TEST_OPTIONS)
    if leg == "cluster":
        nodes: list[tuple[str, int]] = request.getfixturevalue("clean_redis_cluster_nodes")
        return open_redis_client(RedisEndpoint.cluster(nodes), TEST_OPTIONS)
    raise ValueError(f"unknown Redis leg {leg!r}")


def client_on_leg(request: pytest.FixtureRequest, leg: str) -> Iterator[RedisClient]:
    """For a fixture: the leg's client; afterwards, no token may be stored anywhere."""
    client = open_leg(request, leg)
    try:
        yield client
        assert_no_token_stored(client)
    finally:
        client.close()


def everything_stored(client: RedisClient) -> Iterator[tuple[bytes, bytes]]:
    """Every key with a dump of its value (all members, fields and values), on every node."""
    replies: Any = client  # bytes, decode_responses being off; redis-py types them bytes | str
    for raw_key in client.scan_iter(count=1000):
        key = raw_key if isinstance(raw_key, bytes) else str(raw_key).encode()
        kind = client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "hash":
            items = replies.hgetall(key).items()
            value = b"\n".join(b"%s\n%s" % (field, content) for field, content in items)
        elif kind == "zset":
            value = b"\n".join(member for member, _ in replies.zrange(key, 0, -1, withscores=True))
        elif kind == "string":
            value = replies.get(key) or b""
        elif kind == "set":
            value = b"\n".join(replies.smembers(key))
        elif kind == "list":
            value = b"\n".join(replies.lrange(key, 0, -1))
        else:
            value = b""
        yield key, value


def assert_no_token_stored(client: RedisClient) -> None:
    """No key and no value anywhere holds a session token: stores only ever see digests."""
    for key, value in everything_stored(client):
        assert TOKEN_PATTERN.search(key) is None, f"a token in the key {key!r}"
        assert TOKEN_PATTERN.search(value) is None, f"a token in the value of {key!r}"


def cluster_client(nodes: list[tuple[str, int]]) -> RedisCluster:
    """A plain cluster client for test housekeeping."""
    return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in nodes])
