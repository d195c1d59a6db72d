"""Events as JSON on the user's sharded channel, and their delivery off the request's path."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime

import pytest

from platform_sessions.adapters.redis import (
    BackgroundEventPublisher,
    RedisEndpoint,
    RedisEventPublisher,
    RedisKeys,
    open_redis_client,
)
from platform_sessions.domain.events import DomainEvent, EndReason, PlatformSwitched, SessionEnded
from platform_sessions.domain.ports import EventPublisher
from tests.builders import ROUTING_KEY
from tests.redis.legs import TEST_OPTIONS

WHEN = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
SWITCHED = PlatformSwitched(
    user_id="alice@example.com",
    occurred_at=WHEN,
    session_handle="0123456789abcdef01234567",
    from_platform_id=None,
    to_platform_id="p2",
)
RECEIVE_TIMEOUT_S = 5.0


def _receive(subscription, kind: str) -> dict:  # type: ignore[no-untyped-def]
    # A cluster client reads sharded messages from the node that owns the channel's slot.
    read = getattr(subscription, "get_sharded_message", None) if kind == "smessage" else None
    read = read or subscription.get_message
    deadline = time.monotonic() + RECEIVE_TIMEOUT_S
    while time.monotonic() < deadline:
        message = read(timeout=0.5)
        if message is not None and message["type"] == kind:
            decoded: dict = json.loads(message["data"])
            return decoded
    raise AssertionError(f"no {kind} within {RECEIVE_TIMEOUT_S}s")


def test_an_event_arrives_as_json_on_the_users_sharded_channel(redis_client):
    publisher = RedisEventPublisher(redis_client, RedisKeys(ROUTING_KEY))
    channel = publisher.channel_for("alice@example.com")
    subscription = redis_client.pubsub()
    try:
        subscription.ssubscribe(channel)
        publisher.publish(SWITCHED)
        received = _receive(subscription, "smessage")
    finally:
        subscription.close()
    assert publisher.sharded is True
    assert received == {
        "event": "PlatformSwitched",
        "user_id": "alice@example.com",
        "occurred_at": "2026-05-04T03:02:01.123456+00:00",
        "session_handle": "0123456789abcdef01234567",
        "from_platform_id": None,
        "to_platform_id": "p2",
    }
    assert "alice" not in channel


def test_without_spublish_events_go_out_with_publish(redis_server_factory):
    server = redis_server_factory("--rename-command", "SPUBLISH", "")  # as a Redis 6 would answer
    client = open_redis_client(RedisEndpoint.server(server.url), TEST_OPTIONS)
    publisher = RedisEventPublisher(client, RedisKeys(ROUTING_KEY))
    subscription = client.pubsub()
    try:
        subscription.subscribe(publisher.channel_for("alice"))
        ended = SessionEnded(user_id="alice", occurred_at=WHEN, session_handle="h", reason=EndReason.REVOKED)
        publisher.publish(ended)
        publisher.publish(ended)
        first, second = _receive(subscription, "message"), _receive(subscription, "message")
    finally:
        subscription.close()
        client.close()
    assert publisher.sharded is False
    assert first == second
    assert first["reason"] == "revoked"


class SlowPublisher(EventPublisher):
    """Delivers once allowed to, remembering the order."""

    def __init__(self) -> None:
        self.delivered: list[DomainEvent] = []
        self.allowed = threading.Event()

    def publish(self, event: DomainEvent) -> None:
        self.allowed.wait(RECEIVE_TIMEOUT_S)
        self.delivered.append(event)


def _events(count: int) -> list[DomainEvent]:
    return [
        SessionEnded(user_id="alice", occurred_at=WHEN, session_handle=f"h{n}", reason=EndReason.LOGOUT)
        for n in range(count)
    ]


def test_the_background_publisher_returns_at_once_and_delivers_in_order():
    inner = SlowPublisher()
    publisher = BackgroundEventPublisher(inner)
    events = _events(20)
    started = time.monotonic()
    for event in events:
        publisher.publish(event)
    assert time.monotonic() - started < 0.5  # nobody waited for the slow delivery
    inner.allowed.set()
    assert publisher.flush()
    assert inner.delivered == events
    publisher.close()


def test_a_full_queue_drops_and_logs_instead_of_blocking(caplog):
    inner = SlowPublisher()
    publisher = BackgroundEventPublisher(inner, queue_size=2)
    caplog.set_level(logging.WARNING)
    for event in _events(10):
        publisher.publish(event)
    assert any("queue is full" in record.getMessage() for record in caplog.records)
    inner.allowed.set()
    assert publisher.flush()
    assert 2 <= len(inner.delivered) < 10
    publisher.close()


def test_closing_delivers_what_is_queued_then_refuses_more(caplog):
    inner = SlowPublisher()
    inner.allowed.set()
    publisher = BackgroundEventPublisher(inner)
    events = _events(5)
    for event in events:
        publisher.publish(event)
    publisher.close()
    assert inner.delivered == events
    caplog.set_level(logging.WARNING)
    publisher.publish(events[0])
    assert any("after close" in record.getMessage() for record in caplog.records)
    assert inner.delivered == events


def test_no_thread_before_the_first_event():
    before = threading.active_count()
    publisher = BackgroundEventPublisher(SlowPublisher())
    assert threading.active_count() == before
    publisher.close()


@pytest.mark.parametrize("sharded", [True, False])
def test_the_mode_can_be_forced(redis_client, sharded):
    publisher = RedisEventPublisher(redis_client, RedisKeys(ROUTING_KEY), sharded=sharded)
    subscription = redis_client.pubsub()
    try:
        if sharded:
            subscription.ssubscribe(publisher.channel_for("alice"))
        else:
            subscription.subscribe(publisher.channel_for("alice"))
        publisher.publish(_events(1)[0])
        received = _receive(subscription, "smessage" if sharded else "message")
    finally:
        subscription.close()
    assert received["event"] == "SessionEnded"
