"""BackgroundEventPublisher: hands events to one worker thread, off the request's path.

Events are best effort by the port's contract, so a request need not wait for their delivery:
with it, a platform switch costs its two Redis round trips and nothing more. One worker keeps
the events of a process in order; a bounded queue keeps a stalled Redis from growing memory
(events beyond it are dropped and logged). The worker starts on the first event, never at
import or construction, and again in a forked child, where threads do not survive.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from functools import partial

from platform_sessions.domain.events import DomainEvent
from platform_sessions.domain.ports import EventPublisher

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 10_000
DEFAULT_CLOSE_TIMEOUT_S = 2.0
_STOP = None


class BackgroundEventPublisher(EventPublisher):
    """Delivers events through ``inner`` on a worker thread; see the module docstring."""

    def __init__(self, inner: EventPublisher, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._inner = inner
        self._queue_size = queue_size
        self._queue: queue.Queue[DomainEvent | None] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._closed = False
        # A forked child inherits the queue (perhaps with a lock held by a thread that does not
        # exist there) but not the worker: it starts afresh, as concurrent.futures does.
        os.register_at_fork(
            after_in_child=partial(_call_if_alive, weakref.WeakMethod(self._reset_after_fork))
        )

    @property
    def inner(self) -> EventPublisher:
        """The publisher that does the delivering."""
        return self._inner

    def publish(self, event: DomainEvent) -> None:
        if self._closed:
            logger.warning("event %s published after close; dropped", event.name)
            return
        self._ensure_worker()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            logger.warning("the event queue is full (Redis too slow or down?); %s dropped", event.name)

    def flush(self, timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S) -> bool:
        """Wait until every event published so far was handed to ``inner``; ``False`` on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Deliver what is queued (waiting at most ``timeout_s``), then stop the worker."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            worker = self._worker
        if worker is None or not worker.is_alive():
            return
        try:
            self._queue.put(_STOP, timeout=timeout_s)
        except queue.Full:
            logger.warning("the event queue did not drain on close; undelivered events are dropped")
            return
        worker.join(timeout_s)

    def _ensure_worker(self) -> None:
        if self._worker is not None:
            return
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name="platform-sessions-events", daemon=True
                )
                self._worker.start()

    def _reset_after_fork(self) -> None:
        self._queue = queue.Queue(maxsize=self._queue_size)
        self._lock = threading.Lock()
        self._worker = None

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            try:
                if event is _STOP:
                    return
                self._inner.publish(event)
            except Exception:
                # The port says publishers never raise; a broken one must not kill the worker.
                logger.exception("delivering event %s failed", getattr(event, "name", "?"))
            finally:
                self._queue.task_done()


def _call_if_alive(method: weakref.WeakMethod[Callable[[], None]]) -> None:
    # A weak reference, so that the fork hook (never unregistered) does not keep publishers alive.
    bound = method()
    if bound is not None:
        bound()
