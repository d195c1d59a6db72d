"""Resolving costs one Redis round trip, a data write one, a platform switch through the facade
one too (the target platform is validated in the switch's unit of work, not through the Redis
cache).

Measured on private servers (one server, and the test session's cluster) so that no other
client's traffic is counted: MONITOR gives the commands clients sent (commands run inside a
script are not round trips), and a counting connection gives the sends of the request's thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import cast

import pytest
import redis

from platform_sessions.adapters.memory import (
    InMemoryPlatformDirectory,
    InMemoryPlatformStore,
    InMemoryUnitOfWork,
)
from platform_sessions.adapters.redis import (
    RedisClient,
    RedisEndpoint,
    RedisKeys,
    RedisPlatformCache,
    RedisPlatformDirectory,
    RedisSessionContextQuery,
    RedisUserSessionRepository,
    open_redis_client,
)
from platform_sessions.adapters.redis.background_publisher import BackgroundEventPublisher
from platform_sessions.adapters.redis.event_bus import RedisEventBus
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.session_data import SessionDataChanges
from platform_sessions.entrypoints.redis_storage import RedisStorageBuilder
from tests.builders import ROUTING_KEY, a_platform, a_session, a_wiring, sessions_on
from tests.contracts.platform_directory import save
from tests.redis.legs import TEST_OPTIONS
from tests.redis.round_trips import SendCounter, client_commands, count_sends

Servers = list[tuple[str, int]]


@pytest.fixture(params=["server", "cluster"])
def private_redis(request: pytest.FixtureRequest) -> Iterator[tuple[RedisClient, Servers]]:
    """A client and the addresses of every server behind it, all ours alone."""
    if request.param == "server":
        server = request.getfixturevalue("redis_server_factory")()
        client = open_redis_client(RedisEndpoint.server(server.url), TEST_OPTIONS)
        servers = [(server.host, server.port)]
    else:
        servers = request.getfixturevalue("clean_redis_cluster_nodes")
        client = open_redis_client(RedisEndpoint.cluster(servers), TEST_OPTIONS)
    try:
        yield client, servers
    finally:
        client.close()


class World:
    """The Redis adapters over one client, with a user who has two platforms."""

    def __init__(self, client: RedisClient, policy: SessionPolicy, now) -> None:  # type: ignore[no-untyped-def]
        store = InMemoryPlatformStore()
        keys = RedisKeys(ROUTING_KEY)
        self.policy = policy
        self.sessions = RedisUserSessionRepository(client, keys, policy)
        self.cache = RedisPlatformCache(client, keys, ttl=timedelta(minutes=15))
        self.directory = RedisPlatformDirectory(self.cache, InMemoryPlatformDirectory(store))
        self.query = RedisSessionContextQuery(client, keys, policy, self.cache, self.directory)
        self.default, self.other = a_platform(is_default=True), a_platform()
        save(lambda: InMemoryUnitOfWork(store), self.default, self.other)
        self.session = a_session(now=now, policy=policy, active_platform_id=self.other.id)
        self.sessions.create(self.session, max_sessions=10)


def test_resolving_a_session_is_one_round_trip(private_redis, policy, clock):
    client, servers = private_redis
    world = World(client, policy, clock.now())
    digest = world.session.token_digest
    world.query.load(digest, now=clock.now())  # loads the script and fills the platform cache

    with client_commands(servers) as quiet:
        snapshot = world.query.load(digest, now=clock.advance(timedelta(seconds=1)))
    with client_commands(servers) as touching:
        touched = world.query.load(digest, now=clock.advance(policy.touch_interval))
    with client_commands(servers) as overriding:
        overridden = world.query.load(digest, now=clock.now(), requested_platform_id=world.default.id)

    assert quiet == touching == overriding == ["EVALSHA"]
    assert snapshot is not None
    assert snapshot.active_platform == world.other
    assert snapshot.default_platform == world.default
    assert touched is not None
    assert touched.session.last_seen_at == clock.now()
    assert overridden is not None
    assert overridden.requested_platform == world.default


def test_a_platform_cache_miss_costs_one_fill_and_the_next_resolve_is_one_round_trip_again(
    private_redis, policy, clock
):
    client, servers = private_redis
    world = World(client, policy, clock.now())
    digest = world.session.token_digest
    world.query.load(digest, now=clock.now())  # loads the scripts
    world.directory.invalidate(world.session.logged_in_user_id)

    with client_commands(servers) as missing:
        after_miss = world.query.load(digest, now=clock.now())
    with client_commands(servers) as hitting:
        after_hit = world.query.load(digest, now=clock.now())

    assert missing == ["EVALSHA", "EVALSHA"]  # resolve, then fill from the backing directory
    assert hitting == ["EVALSHA"]
    assert after_miss == after_hit


def test_a_data_write_is_one_script_in_one_round_trip(private_redis, policy, clock):
    client, servers = private_redis
    repository = RedisUserSessionRepository(client, RedisKeys(ROUTING_KEY), policy)
    session = a_session(now=clock.now(), policy=policy, data={f"k{i}": i for i in range(50)})
    repository.create(session, max_sessions=10)
    # The first write loads the script.
    repository.write_data(session, SessionDataChanges(set={"k0": 0}), max_bytes=policy.max_data_bytes)

    with client_commands(servers) as writing:
        repository.write_data(session, SessionDataChanges(set={"k1": "one"}), max_bytes=policy.max_data_bytes)

    assert writing == ["EVALSHA"]


def test_reading_many_sessions_of_a_user_is_one_round_trip(private_redis, policy, clock):
    client, servers = private_redis
    counter = SendCounter()
    if len(servers) == 1:  # before the first connection is made
        count_sends(client, counter)  # type: ignore[arg-type]
    world = World(client, policy, clock.now())
    others = [a_session(now=clock.now(), policy=policy) for _ in range(4)]
    for other in others:
        world.sessions.create(other, max_sessions=10)
    absent = a_session(now=clock.now(), policy=policy)
    digests = [world.session.token_digest, *(o.token_digest for o in others), absent.token_digest]
    counter.reset()

    with client_commands(servers) as reading:
        found = world.sessions.get_many(digests)

    assert [s.session_id if s else None for s in found] == [
        world.session.session_id,
        *(o.session_id for o in others),
        None,
    ]
    assert reading == ["HGETALL"] * len(digests)  # pipelined: the sends are counted below
    if len(servers) == 1:
        assert counter.of_this_thread() == 1


def test_the_round_trips_of_the_requests_thread_through_the_facade(private_redis, clock):
    """Resolve: one. Switch: two (directory read, versioned update); its event goes out on the
    publisher's worker thread, off the request's path."""
    _, servers = private_redis
    endpoint = RedisEndpoint.cluster(servers) if len(servers) > 1 else RedisEndpoint.server(_url(servers))
    policy = SessionPolicy()
    builder, wiring = (
        RedisStorageBuilder(endpoint=endpoint, options=TEST_OPTIONS),
        a_wiring(policy=policy, clock=clock),
    )
    storage = builder.container(wiring)
    counter = SendCounter()
    if len(servers) == 1:  # a cluster client's per-node pools are its own business
        count_sends(cast(redis.Redis, storage.client()), counter)
    with sessions_on(builder.open(wiring, container=storage), policy=policy) as sessions:
        mastodon = sessions.connect_platform(
            "alice", name="Mastodon", platform_type="mastodon", instance_url="https://m.example", username="a"
        )
        pixelfed = sessions.connect_platform(
            "alice", name="Pixelfed", platform_type="pixelfed", instance_url="https://p.example", username="a"
        )
        started = sessions.start_session("alice")
        assert sessions.switch_platform(str(started.token), pixelfed.id).changed  # every script loaded

        counter.reset()
        with client_commands(servers) as resolving:
            context = sessions.resolve(str(started.token))
        resolve_sends = counter.of_this_thread()
        counter.reset()
        with client_commands(servers) as switching:
            outcome = sessions.switch_platform(context, mastodon.id)
            switch_sends = counter.of_this_thread()
            publisher = storage.event_publisher()
            assert isinstance(publisher, (RedisEventBus, BackgroundEventPublisher))  # cluster: no bus
            assert publisher.flush()

    assert outcome.changed
    assert resolving == ["EVALSHA"]
    assert sorted(switching) == ["EVALSHA", "SPUBLISH"]  # SPUBLISH: the worker's
    if len(servers) == 1:
        assert resolve_sends == 1
        assert switch_sends == 1


def _url(servers: Servers) -> str:
    host, port = servers[0]
    return f"redis://{host}:{port}/0"
