"""One open event stream's mailbox: the events of one user, queued for whoever writes them.

:class:`Listener` is read by a thread (WSGI); :class:`AsyncListener` by a coroutine (ASGI), so
that an open stream holds no thread at all. Both are fed from other threads (a request that
published, the Redis subscriber), and both hold at most ``capacity`` items: a stream too slow
to keep up is closed rather than allowed to grow (its page reconnects and re-reads its state).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable

from platform_sessions.domain.events import DomainEvent
from platform_sessions.domain.ids import UserId


class Closed:
    """Returned by ``next_event`` once the listener was closed."""


class Resync:
    """Returned by ``next_event`` when events may have been missed: re-read the state."""


CLOSED = Closed()
RESYNC = Resync()

Item = DomainEvent | Resync | Closed


class Listener:
    """One event stream's mailbox: the events of one user, in order, at most ``capacity`` queued."""

    def __init__(self, user_id: UserId, capacity: int, on_close: Callable[[Listener], None]) -> None:
        self.user_id = user_id
        # Unbounded on purpose: the capacity is enforced in offer(), so that close() can always
        # queue its wake-up marker without blocking.
        self._events: queue.Queue[Item] = queue.Queue()
        self._capacity = capacity
        self._on_close = on_close
        self._lock = threading.Lock()
        self._closed = False

    def offer(self, event: DomainEvent | Resync) -> None:
        """Queue an event (or :data:`RESYNC`); a listener too slow to keep up is closed."""
        with self._lock:
            if self._closed:
                return
            if self._events.qsize() < self._capacity:
                self._events.put_nowait(event)
                return
        self.close()

    def next_event(self, timeout_s: float) -> Item | None:
        """The next item, :data:`CLOSED` once closed, or ``None`` after ``timeout_s`` of quiet."""
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


class AsyncListener(Listener):
    """A :class:`Listener` read by a coroutine on ``loop``; fed from any thread."""

    def __init__(
        self,
        user_id: UserId,
        capacity: int,
        on_close: Callable[[Listener], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(user_id, capacity, on_close)
        self._loop = loop
        self._queued = 0  # guarded by the lock: items handed to the loop, not yet read
        self._items: asyncio.Queue[Item] = asyncio.Queue()

    def offer(self, event: DomainEvent | Resync) -> None:
        with self._lock:
            if self._closed:
                return
            accepted = self._queued < self._capacity
            if accepted:
                self._queued += 1
        if not accepted or not self._hand_over(event):
            self.close()

    async def next_item(self, timeout_s: float) -> Item | None:
        """The next item, :data:`CLOSED` once closed, or ``None`` after ``timeout_s`` of quiet."""
        try:
            item = await asyncio.wait_for(self._items.get(), timeout_s)
        except TimeoutError:
            return None
        with self._lock:
            self._queued -= 1
        return item

    def next_event(self, timeout_s: float) -> Item | None:
        raise RuntimeError("an AsyncListener is read with `await next_item(...)`")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queued += 1
        self._on_close(self)
        self._hand_over(CLOSED)

    def _hand_over(self, item: Item) -> bool:
        # asyncio.Queue is not thread-safe: the loop's own thread puts the item.
        try:
            self._loop.call_soon_threadsafe(self._items.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody reads any more
            return False
        return True
