"""NearCache: recently resolved sessions kept in this process, dropped the moment Redis changes.

A resolve whose session is in the near cache and not due for a touch costs no round trip at
all; Redis still decides everything, because every entry names the Redis keys it was read
from, and the :class:`InvalidationListener` reports every write to them (another process's
logout, a switch, a touch, a platform change, an expiry, an eviction, a flush). The cache is
never staler than Redis by more than the time the report takes to arrive, and it is only
consulted while the listener is :attr:`~InvalidationListener.listening`: a lost or silent
connection empties it, and it stays unused until the connection is back and verified.

The race every such cache must close: a read's reply may be older than a write whose report
was processed before the reply is stored. So a fill takes a :class:`FillTicket` *before* its
read; a report about one of the ticket's keys that arrives in between spoils the ticket, and
a spoiled ticket's result is returned to its caller but not remembered. A report arriving
after the entry is stored simply drops it.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from functools import partial
from typing import Any, Generic, TypeVar

from attrs import asdict, define

from platform_sessions.adapters.redis.invalidation_listener import EVERYTHING, Batch, InvalidationListener

logger = logging.getLogger(__name__)

HEARTBEAT_JOIN_S = 2.0

Value = TypeVar("Value")


@define(eq=False)
class FillTicket:
    """A fill in progress: valid while no report about ``keys`` arrived since it was taken."""

    keys: tuple[bytes, ...]
    generation: int
    spoiled: bool = False


@define
class NearCacheStats:
    """Counters since the cache was built (for health checks and benchmarks)."""

    hits: int = 0
    misses: int = 0
    fills: int = 0
    spoiled_fills: int = 0
    invalidated: int = 0
    cleared: int = 0


@define(eq=False)
class _Entry(Generic[Value]):
    value: Value
    keys: tuple[bytes, ...]


class NearCache(Generic[Value]):
    """An LRU of values, each tied to the Redis keys it was read from; see the module docstring.

    With ``heartbeat_s``, a daemon thread calls :meth:`maintain` that often, from the first
    use on (never at construction; again in a forked child, where threads do not survive).
    Without it, nothing connects the listener but explicit calls to :meth:`maintain`.
    """

    def __init__(
        self, listener: InvalidationListener, *, size: int, heartbeat_s: float | None = None
    ) -> None:
        self._listener = listener
        self._size = size
        self._heartbeat_s = heartbeat_s
        self._heartbeat: threading.Thread | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry[Value]] = OrderedDict()
        self._dependents: dict[bytes, set[Hashable]] = {}
        self._tickets: dict[bytes, list[FillTicket]] = {}
        self._generation = listener.generation
        self.stats = NearCacheStats()
        os.register_at_fork(after_in_child=partial(_call_if_alive, weakref.WeakMethod(self._after_fork)))

    @property
    def listener(self) -> InvalidationListener:
        """The listener whose reports keep the entries current."""
        return self._listener

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: Hashable) -> Value | None:
        """The value remembered under ``name``, if it is still current and the listener is."""
        value, _ = self._lookup(name, None, _always)
        return value

    def lookup(
        self,
        name: Hashable,
        keys: Sequence[str] | Callable[[], Sequence[str]],
        usable: Callable[[Value], bool],
    ) -> tuple[Value | None, FillTicket | None]:
        """The value under ``name`` if it is there and ``usable`` (a session due for a touch is
        not); otherwise a ticket to take before reading ``keys`` from Redis (``None`` when
        nothing could be remembered), with one look at the listener for both. ``keys`` may be
        a function giving them, called only when a ticket is taken (a hit needs no keys).
        """
        return self._lookup(name, keys, usable)

    def fill(self, ticket: FillTicket, name: Hashable, value: Value) -> bool:
        """Remember ``value`` (read after ``ticket`` was taken) unless a report spoiled it."""
        arrived = self._listener.anything_arrived()
        with self._lock:
            self._catch_up(self._listener.receive() if arrived else [])
            self._forget_ticket(ticket)
            if ticket.spoiled or ticket.generation != self._generation or not self._listener.listening:
                self.stats.spoiled_fills += 1
                return False
            self._drop(name)
            self._entries[name] = _Entry(value, ticket.keys)
            for key in ticket.keys:
                self._dependents.setdefault(key, set()).add(name)
            while len(self._entries) > self._size:
                self._drop(next(iter(self._entries)))
            self.stats.fills += 1
            return True

    def abandon(self, ticket: FillTicket) -> None:
        """The read of ``ticket`` failed or is not worth remembering: release the ticket."""
        with self._lock:
            self._forget_ticket(ticket)

    def maintain(self) -> None:
        """What the heartbeat does: reconnect the listener if it is down and a retry is due
        (without the lock: requests go on, uncached, while it connects), then read what
        arrived and keep the connection verified (see :meth:`InvalidationListener.keep_alive`).
        """
        self._listener.connect_if_due()
        with self._lock:
            self._catch_up(self._listener.keep_alive())

    def close(self) -> None:
        """Stop the heartbeat and the listener, and forget everything."""
        self._stopped.set()
        with self._lock:
            self._listener.close()
            self._clear()
            heartbeat = self._heartbeat
        if heartbeat is not None and heartbeat is not threading.current_thread():
            heartbeat.join(timeout=HEARTBEAT_JOIN_S)

    def _ensure_heartbeat(self) -> None:
        if self._heartbeat is not None or self._heartbeat_s is None or self._stopped.is_set():
            return
        self._heartbeat = threading.Thread(
            target=_beat,
            args=(weakref.ref(self), self._heartbeat_s, self._stopped),
            name="platform-sessions-near-cache",
            daemon=True,
        )
        self._heartbeat.start()

    def _lookup(
        self,
        name: Hashable,
        keys: Sequence[str] | Callable[[], Sequence[str]] | None,
        usable: Callable[[Value], bool],
    ) -> tuple[Value | None, FillTicket | None]:
        arrived = self._listener.anything_arrived()  # the one system call, outside the lock
        with self._lock:
            if self._heartbeat is None:
                self._ensure_heartbeat()
            if arrived or self._listener.generation != self._generation:
                # What _catch_up would do with nothing arrived is the generation check alone.
                self._catch_up(self._listener.receive() if arrived else [])
            if not self._listener.listening:
                self.stats.misses += 1
                return None, None
            entry = self._entries.get(name)
            if entry is not None and usable(entry.value):
                self._entries.move_to_end(name)
                self.stats.hits += 1
                return entry.value, None
            self.stats.misses += 1
            if keys is None:
                return None, None
            return None, self._new_ticket(keys() if callable(keys) else keys)

    def _new_ticket(self, keys: Sequence[str]) -> FillTicket:
        ticket = FillTicket(tuple(key.encode() for key in keys), self._generation)
        for key in ticket.keys:
            self._tickets.setdefault(key, []).append(ticket)
        return ticket

    def _after_fork(self) -> None:
        # The parent's lock may have been held by a thread that does not exist here, and the
        # heartbeat thread did not come along: start both afresh (the listener notices the
        # fork itself and moves its generation on, which empties the cache).
        self._lock = threading.Lock()
        self._heartbeat = None

    def _catch_up(self, batches: list[Batch]) -> None:
        if self._listener.generation != self._generation:
            self._generation = self._listener.generation
            self._clear()  # reports may have been missed while the connection was down
        for batch in batches:
            if batch is EVERYTHING:
                self._clear()
                continue
            # Redis broadcasts every write under the prefix: most keys reported were never
            # read here, and cost two dict lookups.
            for key in batch:
                for ticket in self._tickets.get(key, ()):
                    ticket.spoiled = True
                for name in tuple(self._dependents.get(key, ())):
                    self._drop(name)
                    self.stats.invalidated += 1

    def _clear(self) -> None:
        self.stats.cleared += 1
        self._entries.clear()
        self._dependents.clear()
        for tickets in self._tickets.values():
            for ticket in tickets:
                ticket.spoiled = True

    def _drop(self, name: Hashable) -> None:
        entry = self._entries.pop(name, None)
        if entry is None:
            return
        for key in entry.keys:
            names = self._dependents.get(key)
            if names is not None:
                names.discard(name)
                if not names:
                    del self._dependents[key]

    def _forget_ticket(self, ticket: FillTicket) -> None:
        for key in ticket.keys:
            tickets = self._tickets.get(key)
            if tickets is None:
                continue
            if ticket in tickets:
                tickets.remove(ticket)
            if not tickets:
                del self._tickets[key]


def near_cache_counters(near_cache: NearCache[object] | None) -> dict[str, int]:
    """``near_cache_*`` counters for :class:`StorageHealth`, none without a near cache.

    ``near_cache_listening`` is 0 while the cache is not consulted (its invalidation connection
    is down, unverified, or refused by the server), so every resolve takes its round trip.
    """
    if near_cache is None:
        return {}
    counters = {f"near_cache_{name}": value for name, value in asdict(near_cache.stats).items()}
    counters["near_cache_entries"] = len(near_cache)
    counters["near_cache_listening"] = int(near_cache.listener.listening)
    return counters


def _always(_: object) -> bool:
    return True


def _beat(cache_ref: weakref.ref[NearCache[Any]], interval_s: float, stopped: threading.Event) -> None:
    # A weak reference: a near cache nobody closed may still be collected, ending the thread.
    while not stopped.is_set():
        cache = cache_ref()
        if cache is None:
            return
        try:
            cache.maintain()
        except Exception:  # the heartbeat must outlive any surprise; the next beat retries
            logger.exception("the near cache's heartbeat failed")
        del cache
        stopped.wait(interval_s)


def _call_if_alive(method_ref: Callable[[], Callable[[], None] | None]) -> None:
    method = method_ref()
    if method is not None:
        method()
