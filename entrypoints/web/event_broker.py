"""Fan-out of domain events to the browser streams of the users they concern.

The broker subscribes to an event source and hands each event to the listeners (one per open
event stream) of the event's user. Two kinds of source fit:

- an :class:`EventSource` delivers every user's events through one ``subscribe(callback)``:
  the in-memory publisher (``InMemoryEventPublisher.subscribe``) is one;
- an :class:`~platform_sessions.domain.ports.EventSubscriber` delivers one user's events per
  ``subscribe_user(user_id, on_event, on_gap)``: the Redis storages' event bus, one pub/sub
  subscriber per process on per-user channels (sharded pub/sub has no pattern subscriptions),
  which the broker subscribes while that user has a stream open, so a stream sees the events
  published by any worker. When the subscriber says events may have been missed (``on_gap``:
  its connection to Redis was lost and is back), the user's streams get :data:`RESYNC`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from platform_sessions.domain.events import DomainEvent
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.ports import EventSubscriber
from platform_sessions.entrypoints.web.event_listener import RESYNC, AsyncListener, Listener

EventCallback = Callable[[DomainEvent], None]
Unsubscribe = Callable[[], None]


@runtime_checkable
class EventSource(Protocol):
    """Calls back with every domain event published from now on."""

    def subscribe(self, subscriber: EventCallback) -> Unsubscribe:
        """Start delivering events to ``subscriber``; returns a function that stops it."""
        ...


UserEventSource = EventSubscriber
"""Subscribed user by user: the port the Redis storages' event bus implements."""

AnyEventSource = EventSource | UserEventSource


def event_source_of(publisher: object) -> AnyEventSource | None:
    """The publisher itself if it can be subscribed to, else ``None`` (no live updates)."""
    if isinstance(publisher, EventSubscriber | EventSource):
        return publisher
    return None


class EventBroker:
    """Routes each event of ``source`` to the listeners of its user."""

    def __init__(self, source: AnyEventSource, *, listener_capacity: int = 100) -> None:
        self._lock = threading.Lock()  # guards the listener sets; held briefly, never while calling out
        self._subscribing = threading.RLock()  # orders subscribe and unsubscribe calls to the source
        self._listeners: defaultdict[UserId, set[Listener]] = defaultdict(set)
        self._capacity = listener_capacity
        self._closed = False
        self._per_user: UserEventSource | None = None
        self._user_subscriptions: dict[UserId, Unsubscribe] = {}
        self._global_subscription: Unsubscribe | None = None
        if isinstance(source, EventSubscriber):
            self._per_user = source  # subscribed user by user, while they have streams open
        else:
            self._global_subscription = source.subscribe(self._deliver)

    def listen(self, user_id: UserId) -> Listener:
        """A new listener for ``user_id``'s events, read by a thread; close it when its stream ends."""
        return self._add(Listener(user_id, self._capacity, self._forget))

    def listen_async(self, user_id: UserId, loop: asyncio.AbstractEventLoop | None = None) -> AsyncListener:
        """A new listener read by coroutines on ``loop`` (the running one by default)."""
        running = loop or asyncio.get_running_loop()
        listener = AsyncListener(user_id, self._capacity, self._forget, running)
        self._add(listener)
        return listener

    def _add(self, listener: Listener) -> Listener:
        user_id = listener.user_id
        with self._subscribing:
            with self._lock:
                closed = self._closed
                if not closed:
                    self._listeners[user_id].add(listener)
            if not closed and self._per_user is not None and user_id not in self._user_subscriptions:
                self._user_subscriptions[user_id] = self._per_user.subscribe_user(
                    user_id, self._deliver, lambda: self._resync(user_id)
                )
        if closed:
            listener.close()
        return listener

    def listener_count(self) -> int:
        """How many streams are open (for tests and health pages)."""
        with self._lock:
            return sum(len(listeners) for listeners in self._listeners.values())

    def close(self) -> None:
        """Unsubscribe and close every listener, so their streams end (server shutdown)."""
        with self._subscribing:
            with self._lock:
                self._closed = True
                listeners = [listener for group in self._listeners.values() for listener in group]
            unsubscribes = list(self._user_subscriptions.values())
            self._user_subscriptions.clear()
            if self._global_subscription is not None:
                unsubscribes.append(self._global_subscription)
                self._global_subscription = None
            for unsubscribe in unsubscribes:
                unsubscribe()
        for listener in listeners:
            listener.close()

    def _deliver(self, event: DomainEvent) -> None:
        with self._lock:
            listeners = list(self._listeners.get(event.user_id, ()))
        for listener in listeners:
            listener.offer(event)

    def _resync(self, user_id: UserId) -> None:
        with self._lock:
            listeners = list(self._listeners.get(user_id, ()))
        for listener in listeners:
            listener.offer(RESYNC)

    def _forget(self, listener: Listener) -> None:
        with self._subscribing:
            with self._lock:
                group = self._listeners.get(listener.user_id)
                if group is None:
                    return
                group.discard(listener)
                if group:
                    return
                del self._listeners[listener.user_id]
            unsubscribe = self._user_subscriptions.pop(listener.user_id, None)
            if unsubscribe is not None:
                unsubscribe()
