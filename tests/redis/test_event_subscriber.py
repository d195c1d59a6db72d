"""The per-process Redis subscriber: decode, drop the echo, count garbage, reconnect with backoff.

Against private redis-servers (sharded pub/sub needs a real server's semantics, and the
restarts need a process to kill); every wait is bounded.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from platform_sessions.adapters.redis import (
    RedisEndpoint,
    RedisEventBus,
    RedisEventPublisher,
    RedisEventSubscriber,
    RedisKeys,
    open_redis_client,
)
from platform_sessions.adapters.redis.event_codec import encode_event
from platform_sessions.adapters.redis.event_origin import EventOrigin
from platform_sessions.adapters.redis.invalidation_listener import connection_factory
from platform_sessions.domain.events import DomainEvent, PlatformSwitched
from tests.builders import ROUTING_KEY
from tests.redis.legs import TEST_OPTIONS

WHEN = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
WAIT_S = 5.0


def switched(user: str = "alice", to: str = "p2") -> PlatformSwitched:
    return PlatformSwitched(
        user_id=user, occurred_at=WHEN, session_handle="h" * 24, from_platform_id="p1", to_platform_id=to
    )


class Follower:
    """Collects what a subscription delivers, and waits for it with a deadline."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.gaps = 0
        self._changed = threading.Condition()

    def on_event(self, event: DomainEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def on_gap(self) -> None:
        with self._changed:
            self.gaps += 1
            self._changed.notify_all()

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
        with self._changed:
            return self._changed.wait_for(condition, timeout_s)


def wait_until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def server(redis_server_factory):  # type: ignore[no-untyped-def]
    return redis_server_factory()


@pytest.fixture
def keys() -> RedisKeys:
    return RedisKeys(ROUTING_KEY)


def subscriber_for(url: str, keys: RedisKeys, origin: EventOrigin | None = None) -> RedisEventSubscriber:
    connect = connection_factory(url, connect_timeout=1.0, read_timeout=2.0)
    return RedisEventSubscriber(connect, keys, origin or EventOrigin(), heartbeat_s=1.0)


@pytest.fixture
def client(server):  # type: ignore[no-untyped-def]
    redis_client = open_redis_client(RedisEndpoint.server(server.url), TEST_OPTIONS)
    yield redis_client
    redis_client.close()


@pytest.fixture
def subscriber(server, keys) -> Iterator[RedisEventSubscriber]:  # type: ignore[no-untyped-def]
    created = subscriber_for(server.url, keys)
    yield created
    created.close()


def subscribed(subscriber: RedisEventSubscriber, user: str = "alice") -> Follower:
    follower = Follower()
    subscriber.subscribe_user(user, follower.on_event, follower.on_gap)
    assert wait_until(lambda: subscriber.counters()["connections"] >= 1)
    # The subscription is in effect once Redis counts a subscriber on the channel.
    return follower


def wait_subscribed(client, channel: str, sharded: bool = True) -> None:  # type: ignore[no-untyped-def]
    def counted() -> bool:
        reply = client.execute_command("PUBSUB", "SHARDNUMSUB" if sharded else "NUMSUB", channel)
        return int(reply[1]) >= 1

    assert wait_until(counted), f"nobody subscribed to {channel}"


def test_another_process_event_arrives_decoded_and_only_for_its_user(client, subscriber, keys):
    alice, bob = subscribed(subscriber, "alice"), subscribed(subscriber, "bob")
    wait_subscribed(client, keys.events_channel("alice"))
    other_process = RedisEventPublisher(client, keys, origin=EventOrigin())
    other_process.publish(switched("alice"))
    assert alice.wait_for(lambda: alice.events == [switched("alice")])
    assert bob.events == []
    assert subscriber.sharded is not False  # SSUBSCRIBE, as the publisher's SPUBLISH needs
    assert alice.gaps == 0  # a first subscription on a healthy connection owes no resync


def test_own_events_reach_local_followers_once_and_their_echo_is_dropped(server, client, keys):
    origin = EventOrigin()
    own = subscriber_for(server.url, keys, origin)
    try:
        bus = RedisEventBus(RedisEventPublisher(client, keys, origin=origin), own)
        follower = Follower()
        bus.subscribe_user("alice", follower.on_event, follower.on_gap)
        wait_subscribed(client, keys.events_channel("alice"))
        bus.publish(switched("alice"))
        assert follower.events == [switched("alice")]  # delivered in the publishing thread
        assert wait_until(lambda: own.counters()["echoes_dropped"] == 1)
        # A marker published afterwards by another process proves the echo had its chance.
        RedisEventPublisher(client, keys, origin=EventOrigin()).publish(switched("alice", "p3"))
        assert follower.wait_for(lambda: len(follower.events) == 2)
        assert follower.events == [switched("alice"), switched("alice", "p3")]
    finally:
        own.close()


@pytest.mark.parametrize(
    "garbage",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"event": "Unheard"}',
        b'{"event": "PlatformSwitched", "user_id": "alice"}',
        b'{"event": "SessionEnded", "user_id": "alice", "occurred_at": "2026-01-01T00:00:00+00:00",'
        b' "session_handle": "h", "reason": "nope"}',
        b"x" * 20_000,
    ],
)
def test_undecodable_messages_are_dropped_and_counted_never_fatal(client, subscriber, keys, garbage):
    follower = subscribed(subscriber)
    channel = keys.events_channel("alice")
    wait_subscribed(client, channel)
    client.spublish(channel, garbage)
    assert wait_until(lambda: subscriber.counters()["undecodable"] == 1)
    RedisEventPublisher(client, keys, origin=EventOrigin()).publish(switched())
    assert follower.wait_for(lambda: follower.events == [switched()])


def test_an_event_naming_another_user_is_not_delivered_on_this_users_channel(client, subscriber, keys):
    follower = subscribed(subscriber)
    channel = keys.events_channel("alice")
    wait_subscribed(client, channel)
    client.spublish(channel, encode_event(switched("mallory"), "elsewhere"))
    client.spublish(channel, encode_event(switched("alice"), "elsewhere"))
    assert follower.wait_for(lambda: follower.events == [switched("alice")])
    assert subscriber.counters()["delivered"] == 1


def test_nothing_connects_or_starts_before_the_first_subscription(server, keys):
    before = threading.active_count()
    created = subscriber_for(server.url, keys)
    assert threading.active_count() == before
    assert created.counters()["connections"] == 0
    created.close()


def test_after_a_redis_restart_it_reconnects_with_backoff_and_announces_the_gap(server, client, keys):
    subscriber = subscriber_for(server.url, keys)
    try:
        follower = subscribed(subscriber)
        wait_subscribed(client, keys.events_channel("alice"))
        server.kill()
        assert wait_until(lambda: not subscriber.connected)
        down_since = time.monotonic()
        time.sleep(2.0)
        failures = subscriber.counters()["connection_failures"]
        # Backoff from 0.1 s doubling (±20 %): about 4 attempts in 2 s, never a busy loop.
        assert 2 <= failures <= 7, failures
        server.start()
        assert follower.wait_for(lambda: follower.gaps == 1), "no gap announced after the restart"
        assert time.monotonic() - down_since < 2.0 + 2 * 1.2 + WAIT_S
        RedisEventPublisher(client, keys, origin=EventOrigin()).publish(switched())
        assert follower.wait_for(lambda: follower.events == [switched()])
        counters = subscriber.counters()
        assert counters["connections_lost"] == 1
        assert counters["gaps"] == 1
    finally:
        subscriber.close()


def test_a_subscription_made_while_redis_is_down_gets_its_gap_once_it_is_back(server, client, keys):
    subscriber = subscriber_for(server.url, keys)
    try:
        subscribed(subscriber, "bob")
        server.kill()
        assert wait_until(lambda: not subscriber.connected)
        assert wait_until(lambda: subscriber.counters()["connection_failures"] >= 1)
        late = Follower()
        subscriber.subscribe_user("alice", late.on_event, late.on_gap)
        server.start()
        assert late.wait_for(lambda: late.gaps == 1)
    finally:
        subscriber.close()


def test_close_stops_the_thread_and_the_connection(server, client, keys):
    subscriber = subscriber_for(server.url, keys)
    subscribed(subscriber)
    wait_subscribed(client, keys.events_channel("alice"))
    subscriber.close()
    assert wait_until(
        lambda: not any(t.name == "platform-sessions-event-subscriber" for t in threading.enumerate())
    )
    assert int(client.execute_command("PUBSUB", "SHARDNUMSUB", keys.events_channel("alice"))[1]) == 0


def test_a_forked_child_starts_its_own_subscriber_and_hears_events(server, client, keys):
    subscriber = subscriber_for(server.url, keys)
    subscribed(subscriber, "bob")  # the parent's thread and connection are running
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a new thread and connection, on first use
        status = 1
        try:
            follower = Follower()
            subscriber.subscribe_user("alice", follower.on_event, follower.on_gap)
            if follower.wait_for(lambda: bool(follower.events), WAIT_S * 2):
                os.write(writer, follower.events[0].to_platform_id.encode())  # type: ignore[attr-defined]
                status = 0
        finally:
            os._exit(status)
    try:
        os.close(writer)
        assert wait_until(
            lambda: int(client.execute_command("PUBSUB", "SHARDNUMSUB", keys.events_channel("alice"))[1]) == 1
        )
        RedisEventPublisher(client, keys, origin=EventOrigin()).publish(switched("alice", "from-parent"))
        _, status = os.waitpid(pid, 0)
        assert os.read(reader, 100) == b"from-parent"
        assert os.WEXITSTATUS(status) == 0
    finally:
        os.close(reader)
        subscriber.close()


def test_without_sharded_pub_sub_it_follows_with_subscribe(redis_server_factory, keys):
    server = redis_server_factory("--rename-command", "SPUBLISH", "", "--rename-command", "SSUBSCRIBE", "")
    client = open_redis_client(RedisEndpoint.server(server.url), TEST_OPTIONS)
    subscriber = subscriber_for(server.url, keys)
    try:
        follower = subscribed(subscriber)
        wait_subscribed(client, keys.events_channel("alice"), sharded=False)
        RedisEventPublisher(client, keys, origin=EventOrigin()).publish(switched())
        assert follower.wait_for(lambda: follower.events == [switched()])
        assert subscriber.sharded is False
    finally:
        subscriber.close()
        client.close()


def test_a_redis_storage_publishes_through_the_bus_and_its_close_stops_the_subscriber(server):
    from platform_sessions.entrypoints import bootstrap
    from platform_sessions.entrypoints.web.event_broker import event_source_of

    sessions = bootstrap(redis_url=server.url, routing_key=ROUTING_KEY)
    bus = sessions.events
    assert isinstance(bus, RedisEventBus)
    assert event_source_of(bus) is bus  # the demo and the helpers find it: no warning
    follower = Follower()
    bus.subscribe_user("alice", follower.on_event, follower.on_gap)
    assert wait_until(lambda: bus.subscriber.connected)
    sessions.close()
    assert wait_until(
        lambda: not any(t.name == "platform-sessions-event-subscriber" for t in threading.enumerate())
    )
