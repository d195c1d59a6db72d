"""An event publisher that keeps what it published and tells in-process subscribers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from platform_sessions.domain.events import DomainEvent
from platform_sessions.domain.ports import EventPublisher

logger = logging.getLogger(__name__)

Subscriber = Callable[[DomainEvent], None]


class InMemoryEventPublisher(EventPublisher):
    """Records every event (``published``) and calls subscribers synchronously."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._published: list[DomainEvent] = []
        self._subscribers: list[Subscriber] = []

    def publish(self, event: DomainEvent) -> None:
        with self._lock:
            self._published.append(event)
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:
                # The change is stored already; a broken listener must not undo the answer.
                logger.exception("an event subscriber failed on %s", event.name)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every later event; returns a function that unsubscribes."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    @property
    def published(self) -> list[DomainEvent]:
        """Every event published so far, oldest first (a copy)."""
        with self._lock:
            return list(self._published)

    def clear(self) -> None:
        """Forget the events published so far."""
        with self._lock:
            self._published.clear()
