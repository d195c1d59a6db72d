"""The event broker's fan-out and the server-sent event frames a browser reads."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from platform_sessions.adapters.memory import InMemoryEventPublisher
from platform_sessions.domain.events import (
    EndReason,
    PlatformSwitched,
    SessionEnded,
    SessionStarted,
    UserSessionsEnded,
)
from platform_sessions.domain.ports import EventSubscriber
from platform_sessions.entrypoints.web.event_broker import EventBroker, event_source_of
from platform_sessions.entrypoints.web.event_listener import CLOSED, RESYNC
from platform_sessions.entrypoints.web.server_sent_events import (
    EventStream,
    StreamFrames,
    async_event_frames,
    ends_session,
    event_frame,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def switched(user: str = "alice", handle: str = "h1") -> PlatformSwitched:
    return PlatformSwitched(
        user_id=user, occurred_at=NOW, session_handle=handle, from_platform_id="p1", to_platform_id="p2"
    )


def test_each_listener_gets_only_its_users_events_in_order() -> None:
    publisher = InMemoryEventPublisher()
    broker = EventBroker(publisher)
    alice, bob = broker.listen("alice"), broker.listen("bob")
    publisher.publish(switched("alice", "a"))
    publisher.publish(switched("bob", "b"))
    publisher.publish(SessionStarted(user_id="alice", occurred_at=NOW, session_handle="a2", platform_id=None))
    assert alice.next_event(0.1) == switched("alice", "a")
    assert isinstance(alice.next_event(0.1), SessionStarted)
    assert alice.next_event(0.01) is None  # quiet
    assert bob.next_event(0.1) == switched("bob", "b")
    broker.close()


def test_closing_wakes_a_waiting_reader_and_forgets_the_listener() -> None:
    publisher = InMemoryEventPublisher()
    broker = EventBroker(publisher)
    listener = broker.listen("alice")
    woke: list[object] = []
    reader = threading.Thread(target=lambda: woke.append(listener.next_event(5.0)))
    reader.start()
    listener.close()
    reader.join(timeout=2)
    assert woke == [CLOSED]
    assert broker.listener_count() == 0


def test_a_listener_too_slow_to_keep_up_is_closed_not_allowed_to_grow() -> None:
    publisher = InMemoryEventPublisher()
    broker = EventBroker(publisher, listener_capacity=2)
    listener = broker.listen("alice")
    for _ in range(3):
        publisher.publish(switched())
    assert [listener.next_event(0.1) for _ in range(3)] == [switched(), switched(), CLOSED]
    assert broker.listener_count() == 0


def test_closing_the_broker_unsubscribes_and_closes_every_stream() -> None:
    publisher = InMemoryEventPublisher()
    broker = EventBroker(publisher)
    listener = broker.listen("alice")
    broker.close()
    publisher.publish(switched())
    assert listener.next_event(0.1) is CLOSED
    assert broker.listen("alice").next_event(0.1) is CLOSED


def test_a_publisher_without_subscribe_gives_no_source() -> None:
    assert event_source_of(object()) is None
    publisher = InMemoryEventPublisher()
    assert event_source_of(publisher) is publisher


def test_a_frame_names_the_event_and_carries_json_without_the_user() -> None:
    frame = event_frame(
        SessionEnded(user_id="alice", occurred_at=NOW, session_handle="h", reason=EndReason.REVOKED)
    )
    name_line, data_line, *_ = frame.decode().split("\n")
    assert name_line == "event: SessionEnded"
    data = json.loads(data_line.removeprefix("data: "))
    assert data == {
        "event": "SessionEnded",
        "occurred_at": NOW.isoformat(),
        "session_handle": "h",
        "reason": "revoked",
    }
    assert frame.endswith(b"\n\n")


def test_which_events_end_a_given_session() -> None:
    ended = SessionEnded(user_id="u", occurred_at=NOW, session_handle="mine", reason=EndReason.LOGOUT)
    assert ends_session(ended, "mine")
    assert not ends_session(ended, "other")
    kept = UserSessionsEnded(user_id="u", occurred_at=NOW, ended_count=2, kept_session_handle="mine")
    assert not ends_session(kept, "mine")
    assert ends_session(kept, "other")
    assert not ends_session(switched(), "h1")


def test_the_stream_sends_events_heartbeats_and_stops_when_its_session_ends() -> None:
    publisher = InMemoryEventPublisher()
    broker = EventBroker(publisher)
    stream = EventStream(broker.listen("alice"), session_handle="mine", heartbeat_s=0.01)
    frames = iter(stream)
    assert next(frames) == b"retry: 1000\nid: 0\n\n: connected\n\n"  # no resync: not a reconnect
    assert next(frames) == b": keep-alive\n\n"
    publisher.publish(switched())
    assert next(frames).startswith(b"id: 1\nevent: PlatformSwitched\n")
    publisher.publish(
        SessionEnded(user_id="alice", occurred_at=NOW, session_handle="mine", reason=EndReason.LOGOUT)
    )
    assert next(frames).startswith(b"id: 2\nevent: SessionEnded\n")
    assert list(frames) == []
    stream.close()
    assert broker.listener_count() == 0


def test_closing_a_stream_that_never_started_releases_its_listener() -> None:
    broker = EventBroker(InMemoryEventPublisher())
    EventStream(broker.listen("alice"), session_handle="h").close()
    assert broker.listener_count() == 0


class PerUserChannels(EventSubscriber):
    """An event source with one channel per user, like Redis pub/sub on per-user channels."""

    def __init__(self) -> None:
        self.subscribers: dict[str, list[object]] = {}
        self.gaps: dict[str, list[Callable[[], None]]] = {}
        self.calls: list[str] = []

    def subscribe_user(self, user_id: str, subscriber: object, on_gap: object = None) -> object:  # type: ignore[override]
        self.calls.append(f"subscribe {user_id}")
        self.subscribers.setdefault(user_id, []).append(subscriber)
        if on_gap is not None:
            self.gaps.setdefault(user_id, []).append(on_gap)  # type: ignore[arg-type]

        def unsubscribe() -> None:
            self.calls.append(f"unsubscribe {user_id}")
            self.subscribers[user_id].remove(subscriber)

        return unsubscribe

    def publish(self, event: PlatformSwitched) -> None:
        for subscriber in list(self.subscribers.get(event.user_id, [])):
            subscriber(event)  # type: ignore[operator]


def test_a_per_user_source_is_subscribed_while_its_user_has_streams_open() -> None:
    channels = PerUserChannels()
    assert event_source_of(channels) is channels
    broker = EventBroker(channels)  # type: ignore[arg-type]
    first, second = broker.listen("alice"), broker.listen("alice")
    assert channels.calls == ["subscribe alice"]
    channels.publish(switched("alice"))
    channels.publish(switched("bob"))  # nobody listens to bob: not even subscribed
    assert first.next_event(0.1) == second.next_event(0.1) == switched("alice")
    first.close()
    assert channels.calls == ["subscribe alice"]
    second.close()
    assert channels.calls == ["subscribe alice", "unsubscribe alice"]
    broker.listen("bob")
    broker.close()
    assert channels.calls[-2:] == ["subscribe bob", "unsubscribe bob"]
    assert channels.subscribers == {"alice": [], "bob": []}


def test_a_gap_in_a_per_user_source_reaches_the_users_streams_as_a_resync() -> None:
    channels = PerUserChannels()
    broker = EventBroker(channels)
    alice, bob = broker.listen("alice"), broker.listen("bob")
    channels.gaps["alice"][0]()
    assert alice.next_event(0.1) is RESYNC
    assert bob.next_event(0.01) is None
    stream = EventStream(alice, session_handle="mine", heartbeat_s=0.01)
    channels.gaps["alice"][0]()
    frames = iter(stream)
    next(frames)
    assert next(frames) == b'id: 1\nevent: resync\ndata: {"event":"resync"}\n\n'
    broker.close()


def test_a_reconnecting_browser_is_told_to_resync_first() -> None:
    # Nothing replays missed events: a stream opened with Last-Event-ID starts with a resync.
    opening = StreamFrames("mine", reconnected=True).opening()
    assert opening.startswith(b"retry: 1000\nid: 0\n\n")
    assert opening.endswith(b'id: 1\nevent: resync\ndata: {"event":"resync"}\n\n')


def test_the_async_stream_waits_on_the_loop_and_is_fed_from_other_threads() -> None:
    publisher = InMemoryEventPublisher()
    broker = EventBroker(publisher)

    async def follow() -> list[bytes]:
        listener = broker.listen_async("alice")
        frames = async_event_frames(listener, session_handle="mine", heartbeat_s=5.0)
        received = [await anext(frames)]
        feeder = threading.Thread(
            target=lambda: [
                publisher.publish(switched()),
                publisher.publish(
                    SessionEnded(
                        user_id="alice", occurred_at=NOW, session_handle="mine", reason=EndReason.LOGOUT
                    )
                ),
            ]
        )
        feeder.start()
        received += [frame async for frame in frames]  # ends after its session's end
        feeder.join()
        return received

    frames = asyncio.run(asyncio.wait_for(follow(), 5))
    assert frames[1].startswith(b"id: 1\nevent: PlatformSwitched\n")
    assert frames[2].startswith(b"id: 2\nevent: SessionEnded\n")
    assert len(frames) == 3
    assert broker.listener_count() == 0


def test_an_async_listener_too_slow_to_keep_up_is_closed() -> None:
    publisher = InMemoryEventPublisher()
    broker = EventBroker(publisher, listener_capacity=2)

    async def overflow() -> list[object]:
        listener = broker.listen_async("alice")
        for _ in range(3):
            publisher.publish(switched())
        return [await listener.next_item(1.0) for _ in range(3)]

    assert asyncio.run(overflow()) == [switched(), switched(), CLOSED]
    assert broker.listener_count() == 0
