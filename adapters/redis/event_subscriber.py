"""RedisEventSubscriber: one pub/sub connection per process, feeding every local follower.

The publisher sends each event on its user's channel (``SPUBLISH``, or ``PUBLISH`` on a server
without sharded pub/sub). This subscriber holds one connection of its own per process (never
one per browser tab) and ``SSUBSCRIBE``\\ s (or ``SUBSCRIBE``\\ s, decided the same way the
publisher decides) to the channel of each user someone in the process follows, while they do.

- **Lazy, and fork-aware.** Nothing connects before the first subscription; a daemon thread then
  owns the connection, reads what arrives and sends the subscription changes the other threads
  ask for (they wake it through a pipe, so a new follower waits for no poll interval). In a
  forked child the thread and the connection are the parent's: the first use there starts
  afresh, and the subscriptions the child inherited are told they may have missed events.
- **Reconnects with backoff.** A lost connection (refused, reset, closed by the server, or a
  PING unanswered for twice ``heartbeat_s``) is retried after 0.1 s, doubling up to
  ``max_backoff_s``, with jitter so that a fleet does not reconnect in step.
- **Gaps are announced, never hidden.** Events published while the connection was down are
  lost (Redis pub/sub keeps nothing). So every subscription that existed while the connection
  was down, or was made then, gets ``on_gap`` once its channel is subscribed again: a browser
  tab re-reads its state then, and a missed switch or logout never leaves it stale for good.
- **Undecodable messages are dropped and counted,** never raised: a message that is not an
  event of this version (another deployment's, a hand-typed ``PUBLISH``) costs one log line at
  most every minute.
- **This process's own events are delivered once.** :meth:`deliver_local` hands an event this
  process publishes to its followers at once (no Redis round trip, and it works while Redis is
  down); its echo from Redis names this process as its origin and is dropped.
- An event is delivered only to followers of the user it names, whatever channel it came on.

A Redis Cluster is not served here (a sharded subscription must go to the node owning each
channel's slot, and follow it through failovers and slot moves: not built); on a cluster,
events are published but a process hears only its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import select
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from redis.exceptions import RedisError, ResponseError

from platform_sessions.adapters.redis.event_codec import UndecodableEvent, decode_event
from platform_sessions.adapters.redis.event_origin import EventOrigin
from platform_sessions.adapters.redis.keys import RedisKeys
from platform_sessions.domain.events import DomainEvent
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.ports import EventSubscriber
from platform_sessions.domain.ports.event_subscriber import EventCallback, GapCallback, Unsubscribe

logger = logging.getLogger(__name__)

INITIAL_BACKOFF_S = 0.1
DEFAULT_MAX_BACKOFF_S = 2.0
DEFAULT_HEARTBEAT_S = 5.0
UNDECODABLE_LOG_INTERVAL_S = 60.0
CLOSE_TIMEOUT_S = 2.0

_SUBSCRIBED = {b"ssubscribe", b"subscribe"}
_UNSUBSCRIBED = {b"sunsubscribe", b"unsubscribe"}
_MESSAGES = {b"smessage", b"message"}


class _Subscription:
    __slots__ = ("needs_gap", "on_event", "on_gap", "user_id")

    def __init__(self, user_id: UserId, on_event: EventCallback, on_gap: GapCallback | None) -> None:
        self.user_id = user_id
        self.on_event = on_event
        self.on_gap = on_gap
        self.needs_gap = False


class RedisEventSubscriber(EventSubscriber):
    """See the module docstring. ``connect`` opens a new RESP2 connection (not yet connected)."""

    def __init__(
        self,
        connect: Callable[[], Any],
        keys: RedisKeys,
        origin: EventOrigin,
        *,
        sharded: bool | None = None,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        max_backoff_s: float = DEFAULT_MAX_BACKOFF_S,
    ) -> None:
        self._connect = connect
        self._keys = keys
        self._origin = origin
        self._sharded = sharded
        self._heartbeat_s = heartbeat_s
        self._max_backoff_s = max_backoff_s
        self._lock = threading.Lock()
        self._by_channel: dict[str, list[_Subscription]] = {}
        self._closed = False
        self._pid = 0
        self._thread: threading.Thread | None = None
        self._wake_reader, self._wake_writer = -1, -1
        self._connection: Any = None
        self._up = False  # a connection is open (its subscriptions may still be on their way)
        self._requested: set[str] = set()  # channels asked for on this connection
        self._failing = False  # the last attempt to connect failed, or the connection was lost
        self._last_heard = 0.0
        self._ping_sent_at: float | None = None
        self._counters = {
            "received": 0,
            "delivered": 0,
            "echoes_dropped": 0,
            "undecodable": 0,
            "connections": 0,
            "connection_failures": 0,
            "connections_lost": 0,
            "gaps": 0,
        }
        self._undecodable_logged_at = -UNDECODABLE_LOG_INTERVAL_S

    # --- the port ---------------------------------------------------------------------------

    def subscribe_user(
        self, user_id: UserId, on_event: EventCallback, on_gap: GapCallback | None = None
    ) -> Unsubscribe:
        channel = self._keys.events_channel(user_id)
        subscription = _Subscription(user_id, on_event, on_gap)
        self._ensure_running()
        with self._lock:
            if self._closed:
                return _nothing
            # Subscribed while Redis is unreachable: what happens until it is back is missed.
            subscription.needs_gap = self._failing and not self._up
            self._by_channel.setdefault(channel, []).append(subscription)
        self._wake()

        def unsubscribe() -> None:
            with self._lock:
                group = self._by_channel.get(channel)
                if group is None or subscription not in group:
                    return
                group.remove(subscription)
                if not group:
                    del self._by_channel[channel]
            self._wake()

        return unsubscribe

    # --- for this process's own events --------------------------------------------------------

    def deliver_local(self, event: DomainEvent) -> None:
        """Hand an event this process publishes to its followers now; its echo will be dropped."""
        self._deliver(self._keys.events_channel(event.user_id), event)

    # --- operations -------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the subscriber's connection is open now."""
        return self._up

    @property
    def sharded(self) -> bool | None:
        """Whether it subscribes with ``SSUBSCRIBE``; ``None`` until the server was asked."""
        return self._sharded

    def counters(self) -> dict[str, int]:
        """Messages received, delivered, echoes and undecodable ones dropped, connections, gaps."""
        with self._lock:
            return dict(self._counters)

    def close(self) -> None:
        """Stop the thread and close the connection; later subscriptions hear nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._by_channel.clear()
            thread = self._thread if self._pid == os.getpid() else None
        self._wake()
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_TIMEOUT_S)
        if self._pid == os.getpid():
            for descriptor in (self._wake_reader, self._wake_writer):
                with contextlib.suppress(OSError):
                    os.close(descriptor)

    # --- the thread -------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._pid == os.getpid() and self._thread is not None:
            return
        with self._lock:
            if self._closed or (self._pid == os.getpid() and self._thread is not None):
                return
            if self._pid not in (0, os.getpid()):
                # A forked child: the parent's thread, connection and pipe are not ours.
                self._lock = threading.Lock()
                self._connection = None
                self._up = False
                self._requested = set()
                for group in self._by_channel.values():
                    for subscription in group:
                        subscription.needs_gap = True
            self._pid = os.getpid()
            self._wake_reader, self._wake_writer = os.pipe()
            os.set_blocking(self._wake_reader, False)
            os.set_blocking(self._wake_writer, False)
            self._thread = threading.Thread(
                target=self._run, name="platform-sessions-event-subscriber", daemon=True
            )
            self._thread.start()

    def _wake(self) -> None:
        if self._pid != os.getpid() or self._wake_writer < 0:
            return
        with contextlib.suppress(OSError):  # full (a wake-up is pending anyway) or closed
            os.write(self._wake_writer, b"x")

    def _run(self) -> None:
        backoff = INITIAL_BACKOFF_S
        while not self._closed:
            if self._connection is None:
                if not self._open():
                    self._sleep(backoff * random.uniform(0.8, 1.2))
                    backoff = min(backoff * 2, self._max_backoff_s)
                    continue
                backoff = INITIAL_BACKOFF_S
            try:
                self._serve_once()
            except (RedisError, OSError) as error:
                self._lose(f"{type(error).__name__}: {error}")
            except Exception as error:
                # A reply this code did not expect must not end the process's only subscriber:
                # start over on a new connection (its followers get their resync).
                logger.exception("the event subscriber failed; it reconnects")
                self._lose(f"{type(error).__name__}: {error}")
                self._sleep(INITIAL_BACKOFF_S)
        self._lose(None)

    def _open(self) -> bool:
        connection = None
        try:
            connection = self._connect()
            connection.connect()
        except (RedisError, OSError) as error:
            with self._lock:
                self._counters["connection_failures"] += 1
                self._failing = True
            logger.info("the event subscriber could not connect (retrying): %s", error)
            _quietly_disconnect(connection)
            return False
        with self._lock:
            self._connection = connection
            self._up = True
            self._failing = False
            self._requested = set()
            self._counters["connections"] += 1
            self._last_heard = time.monotonic()
            self._ping_sent_at = None
        return True

    def _serve_once(self) -> None:
        connection = self._connection
        self._sync_subscriptions(connection)
        if not connection.can_read(timeout=0):
            readable, _, _ = select.select(
                [connection._sock, self._wake_reader], [], [], self._heartbeat_s / 2
            )
            if self._wake_reader in readable:
                with contextlib.suppress(OSError):
                    os.read(self._wake_reader, 4096)
        while connection.can_read(timeout=0):
            try:
                reply = connection.read_response()
            except ResponseError as error:
                self._refused(error)
                continue
            self._last_heard = time.monotonic()
            self._ping_sent_at = None
            self._handle(reply)
        self._keep_alive(connection)

    def _sync_subscriptions(self, connection: Any) -> None:
        with self._lock:
            wanted = set(self._by_channel)
            missing = sorted(wanted - self._requested)
            unwanted = sorted(self._requested - wanted)
            self._requested = wanted
        sharded = self._sharded is not False
        if missing:
            connection.send_command("SSUBSCRIBE" if sharded else "SUBSCRIBE", *missing)
        if unwanted:
            connection.send_command("SUNSUBSCRIBE" if sharded else "UNSUBSCRIBE", *unwanted)

    def _refused(self, error: ResponseError) -> None:
        if self._sharded is None and "unknown command" in str(error).lower():
            # A Redis without sharded pub/sub (6.x): the publisher falls back to PUBLISH there.
            logger.info("this Redis has no SSUBSCRIBE; events are followed with SUBSCRIBE")
            self._sharded = False
            with self._lock:
                self._requested = set()
            return
        raise error

    def _keep_alive(self, connection: Any) -> None:
        now = time.monotonic()
        if self._ping_sent_at is not None:
            if now - self._ping_sent_at > self._heartbeat_s * 2:
                raise OSError(f"a PING went unanswered for {now - self._ping_sent_at:.1f} s")
        elif now - self._last_heard > self._heartbeat_s:
            connection.send_command("PING")
            self._ping_sent_at = now

    def _handle(self, reply: Any) -> None:
        if not isinstance(reply, list) or len(reply) < 3:
            return  # PONG outside a subscription
        kind, channel_bytes, payload = reply[0], reply[1], reply[2]
        if not isinstance(channel_bytes, bytes):
            return
        channel = channel_bytes.decode("utf-8", "replace")
        if kind in _MESSAGES:
            self._received(channel, payload)
        elif kind in _SUBSCRIBED:
            self._confirmed(channel)
        elif kind in _UNSUBSCRIBED:
            with self._lock:
                # Also sent by the server itself when a slot moves: subscribe again if wanted.
                if channel in self._by_channel:
                    self._requested.discard(channel)
                    for subscription in self._by_channel[channel]:
                        subscription.needs_gap = True

    def _received(self, channel: str, payload: Any) -> None:
        with self._lock:
            self._counters["received"] += 1
        try:
            if not isinstance(payload, bytes | str):
                raise UndecodableEvent("not a string")
            event, origin = decode_event(payload)
        except UndecodableEvent as error:
            self._undecodable(channel, error)
            return
        if origin == self._origin.current():
            with self._lock:
                self._counters["echoes_dropped"] += 1
            return
        self._deliver(channel, event)

    def _undecodable(self, channel: str, error: UndecodableEvent) -> None:
        now = time.monotonic()
        with self._lock:
            self._counters["undecodable"] += 1
            count = self._counters["undecodable"]
            due = now - self._undecodable_logged_at >= UNDECODABLE_LOG_INTERVAL_S
            if due:
                self._undecodable_logged_at = now
        if due:
            logger.warning(
                "dropped an undecodable event message on %s (%d so far): %s", channel, count, error
            )

    def _confirmed(self, channel: str) -> None:
        with self._lock:
            owed = [s for s in self._by_channel.get(channel, ()) if s.needs_gap]
            for subscription in owed:
                subscription.needs_gap = False
            self._counters["gaps"] += len(owed)
        for subscription in owed:
            if subscription.on_gap is not None:
                _call(subscription.on_gap, "a gap callback")

    def _deliver(self, channel: str, event: DomainEvent) -> None:
        with self._lock:
            followers = [s for s in self._by_channel.get(channel, ()) if s.user_id == event.user_id]
            self._counters["delivered"] += len(followers)
        for subscription in followers:
            _call(partial(subscription.on_event, event), "an event callback")

    def _lose(self, why: str | None) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
            was_up, self._up = self._up, False
            self._requested = set()
            if why is not None and was_up:
                self._failing = True
                self._counters["connections_lost"] += 1
                for group in self._by_channel.values():
                    for subscription in group:
                        subscription.needs_gap = True
        if why is not None and was_up:
            logger.warning("the event subscriber lost its connection (reconnecting): %s", why)
        _quietly_disconnect(connection)

    def _sleep(self, seconds: float) -> None:
        # Woken early by close() (or a new subscription, which changes nothing while down).
        with contextlib.suppress(OSError, ValueError):
            readable, _, _ = select.select([self._wake_reader], [], [], seconds)
            if readable:
                os.read(self._wake_reader, 4096)


def _call(callback: Callable[[], None], what: str) -> None:
    try:
        callback()
    except Exception:
        # A broken follower must not kill the process's one subscriber thread.
        logger.exception("%s of the event subscriber failed", what)


def _nothing() -> None:
    return None


def _quietly_disconnect(connection: Any) -> None:
    if connection is None:
        return
    with contextlib.suppress(RedisError, OSError):
        connection.disconnect()
