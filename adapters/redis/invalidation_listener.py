"""InvalidationListener: one connection on which Redis says which of our keys changed.

Redis's server-assisted client-side caching (``CLIENT TRACKING``) in broadcasting mode: the
listener's connection asks for the name of every key under the storage's prefix that any
client writes, expires or evicts, and subscribes to ``__redis__:invalidate`` where Redis
sends them. Broadcasting, rather than tracking the keys each pooled connection read, keeps
the pool untouched (a pooled connection that reconnected would silently stop being tracked)
and costs Redis no memory per key read; the price is one message per write batch to every
listening process, and session writes are rare (a touch once per interval, a switch, a login).

A resolve only reads what has arrived, without waiting (:meth:`receive`): what has arrived is
all that Redis sent before any reply a client of this process has since received on loopback,
because Redis queues the broadcast before it writes the replies of the same event loop turn.
Connecting and the heartbeat PING are left to the near cache's heartbeat thread
(:meth:`connect_if_due`, :meth:`keep_alive`), so a request never sends on this connection and
never waits for it to open.

The connection is its own, in RESP2 (its subscription is then plain replies), built from the
server URL. It is opened on first use, never at construction. Whenever it is lost (an error, a
server that closed it, a fork, or silence past ``max_silence`` with a PING unanswered), the
``generation`` moves on: the near cache then forgets everything it held, since messages may
have been missed. Reconnecting is tried at most once per ``retry_after``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import RedisError, ResponseError

logger = logging.getLogger(__name__)

CHANNEL = b"__redis__:invalidate"
EVERYTHING = None
"""A batch that stands for every key: Redis sends it on FLUSHDB / FLUSHALL."""

Batch = list[bytes] | None


class InvalidationListener:
    """Reads the names of changed keys; see the module docstring."""

    def __init__(
        self,
        connect: Callable[[], Any],
        key_prefix: str,
        *,
        max_silence_s: float = 2.0,
        retry_after_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._prefix = key_prefix
        self._max_silence = max_silence_s
        self._retry_after = retry_after_s
        self._clock = clock
        self._connection: Any = None
        self._socket: Any = None  # the connection's socket, polled without a lock
        self._pollers = threading.local()
        self._pid = 0
        self._generation = 0
        self._verified_at = 0.0
        self._ping_sent_at: float | None = None
        self._next_attempt = 0.0
        self._unsupported = False
        self._closed = False

    @property
    def generation(self) -> int:
        """Moves on each time the connection is lost: what was heard before may be incomplete."""
        return self._generation

    @property
    def listening(self) -> bool:
        """Whether every change up to a moment at most ``max_silence`` ago has been reported.

        That moment is when the last answered PING was sent (or the connection opened): an
        answer read late proves nothing about the time since, and a connection cut without a
        word, as by a partition, stays open here. The heartbeat keeps this true while the
        connection delivers; without one (a test driving :meth:`keep_alive`), it lapses.
        """
        return self._connection is not None and self._clock() - self._verified_at <= self._max_silence

    @property
    def supported(self) -> bool:
        """``False`` once the server refused tracking (Redis < 6, or ACLs without CLIENT)."""
        return not self._unsupported

    def anything_arrived(self) -> bool:
        """Whether :meth:`receive` has anything to read (or a fork or a closed connection to
        notice): one non-blocking ``poll``, safe without the near cache's lock, so that a hit
        with nothing new holds the lock only for dictionary work, never across a system call
        (another thread would take the GIL and queue on the lock). ``True`` when unsure.
        """
        sock = self._socket
        if sock is None:
            return False
        if self._pid != os.getpid():
            return True
        try:
            if hasattr(sock, "pending") and sock.pending():  # TLS bytes already decrypted
                return True
            return bool(self._poller_for(sock).poll(0))
        except (OSError, ValueError):  # closed meanwhile: receive() will see to it
            return True

    def _poller_for(self, sock: Any) -> Any:
        # One poll object per thread and socket, not one per call (its creation costs as much
        # as the poll itself); per thread because CPython refuses concurrent poll() calls on
        # one object. A new socket (a reconnect) gets a new one.
        held = getattr(self._pollers, "held", None)
        if held is None or held[0] is not sock:
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            held = (sock, poller)
            self._pollers.held = held
        return held[1]

    def receive(self) -> list[Batch]:
        """The batches of changed keys that arrived since the last call, without waiting.

        What a request calls once :meth:`anything_arrived` said so: it only reads, never
        connects or sends. After it returns, :attr:`listening` says whether the batches are
        complete.
        """
        if self._closed or self._unsupported or self._connection is None:
            return []
        if self._pid != os.getpid():
            self._lose("this process was forked from the one that opened it")
            return []
        try:
            return self._read_arrived()
        except (RedisError, OSError) as error:
            self._lose(f"{type(error).__name__}: {error}")
            return []

    def connect_if_due(self) -> None:
        """Open the connection if there is none and a retry is due (at most one per
        ``retry_after``). It may wait up to the connect and read timeouts, so the near cache
        calls it from its heartbeat thread without holding its lock; no other caller connects.
        """
        if self._closed or self._unsupported or self._connection is not None:
            return
        self._try_to_connect()

    def keep_alive(self) -> list[Batch]:
        """:meth:`receive`, then the heartbeat: a PING once the last proof of delivery is half
        ``max_silence`` old, and the connection given up once a PING went unanswered longer."""
        batches = self.receive()
        if self._connection is None:
            return batches
        try:
            self._keep_alive()
        except (RedisError, OSError) as error:
            self._lose(f"{type(error).__name__}: {error}")
        return batches

    def close(self) -> None:
        """Close the connection for good (the storage is closing)."""
        self._closed = True
        if self._connection is not None:
            self._lose("closed")

    def _read_arrived(self) -> list[Batch]:
        batches: list[Batch] = []
        connection = self._connection
        while connection.can_read(timeout=0):
            reply = connection.read_response()
            if not isinstance(reply, list) or not reply:
                continue
            if reply[0] == b"message" and len(reply) == 3 and reply[1] == CHANNEL:
                keys = reply[2]
                batches.append(EVERYTHING if keys is None else list(keys))
            elif reply[0] == b"pong" and self._ping_sent_at is not None:
                # Everything Redis sent before it saw the PING has now been read.
                self._verified_at = self._ping_sent_at
                self._ping_sent_at = None
        return batches

    def _keep_alive(self) -> None:
        now = self._clock()
        if self._ping_sent_at is not None:
            if now - self._ping_sent_at > self._max_silence:
                raise OSError(f"a PING went unanswered for {now - self._ping_sent_at:.1f} s")
        elif now - self._verified_at > self._max_silence / 2:
            self._connection.send_command("PING")
            self._ping_sent_at = now

    def _try_to_connect(self) -> None:
        now = self._clock()
        if now < self._next_attempt:
            return
        self._next_attempt = now + self._retry_after
        connection = None
        try:
            connection = self._connect()
            connection.connect()
            connection.send_command("CLIENT", "ID")
            client_id = connection.read_response()
            # BCAST with REDIRECT to itself: in RESP2 the messages arrive on the subscription.
            connection.send_command(
                "CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", "PREFIX", self._prefix
            )
            connection.send_command("SUBSCRIBE", CHANNEL)
            connection.read_response()
            connection.read_response()
        except ResponseError as error:
            self._unsupported = True
            logger.warning("Redis refused client-side caching, so the near cache is off: %s", error)
            _quietly_disconnect(connection)
            return
        except (RedisError, OSError) as error:
            logger.info("the invalidation connection could not open (retrying later): %s", error)
            _quietly_disconnect(connection)
            return
        self._pid = os.getpid()
        self._verified_at = self._next_attempt - self._retry_after  # when the attempt began
        self._ping_sent_at = None
        if self._closed:  # closed while this was connecting
            _quietly_disconnect(connection)
            return
        # redis-py keeps the socket in ``_sock`` (as its own parsers do); after the handshake
        # every complete reply has been parsed, so the socket alone says whether more came.
        self._socket = connection._sock
        self._connection = connection  # last: a request reads nothing until all is set

    def _lose(self, why: str) -> None:
        logger.info("the invalidation connection was lost, so the near cache starts over: %s", why)
        _quietly_disconnect(self._connection)
        self._connection = None
        self._socket = None
        self._generation += 1


def _quietly_disconnect(connection: Any) -> None:
    if connection is None:
        return
    # redis-py only shuts the socket down in the process that opened it (not in a fork).
    with contextlib.suppress(RedisError, OSError):
        connection.disconnect()


def connection_factory(url: str, *, connect_timeout: float, read_timeout: float) -> Callable[[], Any]:
    """What opens the listener's own RESP2 connection to the server at ``url``."""
    pool = redis.ConnectionPool.from_url(
        url,
        protocol=2,
        socket_connect_timeout=connect_timeout,
        socket_timeout=read_timeout,
    )
    return pool.make_connection
