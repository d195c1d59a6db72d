"""A TCP proxy on loopback that a test owns, to make a real server hang, vanish or lose a reply.

Faults a test needs from a database or Redis that a signal to the server cannot give, because
the server is shared (the PostgreSQL every test uses) or because the fault is in the network:

- ``pause()``: every byte in flight, both ways, is held (connections stay open, nothing is
  answered), as a hung server or a partition looks to a client; ``resume()`` lets them flow.
- ``cut()``: every open connection is reset; with ``refuse_new=True`` new ones are closed at
  once as well (an unreachable server) until ``restore()``.
- ``drop_reply_after(marker)``: the next client chunk containing ``marker`` (``b"COMMIT"``) is
  forwarded to the server, the server's reply is awaited and discarded, and the client's
  connection is then reset: the classic "did my commit happen?" ambiguity, in its worst form
  (it did).

Byte counts and the chunks seen are not interpreted beyond the marker search, so the proxy works
for any protocol. Use it as a context manager, or call ``close()``; it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import enum
import selectors
import socket
import struct
import threading
from types import TracebackType

from tests.support.settings import LOOPBACK

CHUNK_BYTES = 65536
SELECT_TIMEOUT_S = 0.05
JOIN_TIMEOUT_S = 5.0
# SO_LINGER with a zero timeout makes close() send a RST instead of a FIN: the client sees
# "connection reset" at once, as when a server or a middlebox dies.
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``, with faults switched on and off by the test."""

    def __init__(self, target_host: str, target_port: int) -> None:
        if target_host not in (LOOPBACK, "localhost"):
            raise ValueError(f"the proxy forwards to loopback only, not {target_host!r}")
        self._target = (target_host, target_port)
        self._listener = socket.create_server((LOOPBACK, 0))
        self._listener.setblocking(False)
        self.host = LOOPBACK
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._paused = threading.Event()
        self._refusing = False
        self._drop_marker: bytes | None = None
        self.replies_dropped = 0
        self.connections_accepted = 0
        self._pairs: set[_Pair] = set()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"TcpProxy({self.host}:{self.port} -> {self._target[0]}:{self._target[1]})"

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- faults ------------------------------------------------------------------------------

    def pause(self) -> None:
        """Hold every byte, both ways, on every connection (new ones are accepted and held too)."""
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def cut(self, *, refuse_new: bool = False) -> None:
        """Reset every open connection; with ``refuse_new`` also every new one until ``restore()``."""
        with self._lock:
            self._refusing = self._refusing or refuse_new
            pairs = list(self._pairs)
        for pair in pairs:
            pair.reset()

    def restore(self) -> None:
        """Accept and forward again (after ``cut(refuse_new=True)`` or ``pause()``)."""
        with self._lock:
            self._refusing = False
        self._paused.clear()

    def drop_reply_after(self, marker: bytes) -> None:
        """Arm a one-shot fault: forward the next client chunk containing ``marker``, then reset
        that connection before any reply from the server reaches the client."""
        with self._lock:
            self._drop_marker = marker

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(JOIN_TIMEOUT_S)
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            pair.reset()
            pair.join()
        self._listener.close()

    # --- internals ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            while not self._closed.is_set():
                if not selector.select(SELECT_TIMEOUT_S):
                    continue
                try:
                    client, _ = self._listener.accept()
                except BlockingIOError:
                    continue
                with self._lock:
                    refusing = self._refusing
                if refusing:
                    _reset(client)
                    continue
                try:
                    upstream = socket.create_connection(self._target, timeout=JOIN_TIMEOUT_S)
                except OSError:
                    _reset(client)
                    continue
                pair = _Pair(self, client, upstream)
                with self._lock:
                    self._pairs.add(pair)
                    self.connections_accepted += 1
                pair.start()

    def _forget(self, pair: _Pair) -> None:
        with self._lock:
            self._pairs.discard(pair)

    def _take_drop_marker(self, chunk: bytes) -> bool:
        with self._lock:
            if self._drop_marker is not None and self._drop_marker in chunk:
                self._drop_marker = None
                self.replies_dropped += 1
                return True
            return False


class _Outcome(enum.Enum):
    FORWARDED = enum.auto()
    CLOSED = enum.auto()
    DROP_REPLY = enum.auto()


class _Pair:
    """One client connection and its upstream twin, pumped by one thread."""

    def __init__(self, proxy: TcpProxy, client: socket.socket, upstream: socket.socket) -> None:
        self._proxy = proxy
        self._client = client
        self._upstream = upstream
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._pump, name=f"tcp-proxy-pair-{proxy.port}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(JOIN_TIMEOUT_S)

    def reset(self) -> None:
        self._done.set()

    def _pump(self) -> None:
        try:
            self._client.setblocking(False)
            self._upstream.setblocking(False)
            with selectors.DefaultSelector() as selector:
                selector.register(self._client, selectors.EVENT_READ, self._upstream)
                selector.register(self._upstream, selectors.EVENT_READ, self._client)
                while not self._done.is_set() and not self._proxy._closed.is_set():
                    if self._proxy._paused.is_set():
                        # Nothing is read, so the kernel buffers fill and both sides just wait.
                        self._done.wait(SELECT_TIMEOUT_S)
                        continue
                    for key, _ in selector.select(SELECT_TIMEOUT_S):
                        source: socket.socket = key.fileobj  # type: ignore[assignment]
                        outcome = self._forward(source, key.data)
                        if outcome is _Outcome.CLOSED:
                            return
                        if outcome is _Outcome.DROP_REPLY:
                            self._drop_reply()
                            return
        except OSError:
            return
        finally:
            _reset(self._client)
            _reset(self._upstream)
            self._proxy._forget(self)

    def _forward(self, source: socket.socket, destination: socket.socket) -> _Outcome:
        try:
            chunk = source.recv(CHUNK_BYTES)
        except BlockingIOError:
            return _Outcome.FORWARDED
        if not chunk:
            return _Outcome.CLOSED
        drop_after = source is self._client and self._proxy._take_drop_marker(chunk)
        destination.setblocking(True)
        try:
            destination.sendall(chunk)
        finally:
            destination.setblocking(False)
        return _Outcome.DROP_REPLY if drop_after else _Outcome.FORWARDED

    def _drop_reply(self) -> None:
        # The server's answer is awaited and thrown away, and only then is the client's
        # connection reset: the request has surely been carried out (its effects visible to
        # every other connection) when the client learns it lost the answer. Resetting the
        # client first would let it race its own in-flight request.
        self._upstream.setblocking(True)
        self._upstream.settimeout(JOIN_TIMEOUT_S)
        with contextlib.suppress(OSError):
            self._upstream.recv(CHUNK_BYTES)
        _reset(self._client)


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
    with contextlib.suppress(OSError):
        sock.close()
