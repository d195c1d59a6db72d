"""One open event stream's mailbox: the events of one user, queued for the thread that writes them."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from platform_sessions.domain.events import DomainEvent
from platform_sessions.domain.ids import UserId


class Closed:
    """Returned by :meth:`Listener.next_event` once the listener was closed."""


CLOSED = Closed()


class Listener:
    """One event stream's mailbox: the events of one user, in order, at most ``capacity`` queued."""

    def __init__(self, user_id: UserId, capacity: int, on_close: Callable[[Listener], None]) -> None:
        self.user_id = user_id
        # Unbounded on purpose: the capacity is enforced in offer(), so that close() can always
        # queue its wake-up marker without blocking.
        self._events: queue.Queue[DomainEvent | Closed] = queue.Queue()
        self._capacity = capacity
        self._on_close = on_close
        self._lock = threading.Lock()
        self._closed = False

    def offer(self, event: DomainEvent) -> None:
        """Queue an event; a listener too slow to keep up is closed (its page reconnects)."""
        with self._lock:
            if self._closed:
                return
            if self._events.qsize() < self._capacity:
                self._events.put_nowait(event)
                return
        self.close()

    def next_event(self, timeout_s: float) -> DomainEvent | Closed | None:
        """The next event, :data:`CLOSED` once closed, or ``None`` after ``timeout_s`` of quiet."""
        try:
            return self._events.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Stop receiving; a reader waiting in :meth:`next_event` wakes up with :data:`CLOSED`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._on_close(self)
        self._events.put_nowait(CLOSED)
