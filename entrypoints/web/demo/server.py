"""A threaded WSGI server from the standard library, good for a local demo with live streams.

Each request, and so each open event stream, gets a thread; a handful of tabs is nothing.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import WSGIApplication

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per request; threads never keep the process alive after shutdown."""

    daemon_threads = True


class SharedSocketWSGIServer(ThreadingWSGIServer):
    """Serves on a listening socket bound before a fork and shared by every worker process.

    The socket is non-blocking: every worker wakes when a connection arrives, one accepts it,
    and the others' ``accept`` fails at once (and is ignored) instead of blocking their loop.
    """

    def __init__(self, listening: socket.socket, handler: type[WSGIRequestHandler]) -> None:
        super().__init__(listening.getsockname(), handler, bind_and_activate=False)
        self.socket.close()
        self.socket = listening
        host, port = listening.getsockname()[:2]
        self.server_address = (host, port)
        self.server_name = host
        self.server_port = port
        self.setup_environ()

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = self.socket.accept()
        connection.setblocking(True)  # the request itself is read the usual way
        return connection, address


def listening_socket(port: int = 0, host: str = LOOPBACK) -> socket.socket:
    """A bound, listening, non-blocking socket to share between forked workers."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
        listening.listen(128)
    except OSError:
        listening.close()
        raise
    listening.setblocking(False)
    return listening


class _QuietRequestHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        # One line per request is noise at a terminal showing the demo's passwords.
        logger.debug("%s " + format, self.address_string(), *args)


class DemoServer:
    """Serves a WSGI app on the loopback interface until :meth:`stop`.

    ``port=0`` picks a free port (see :attr:`url`). ``before_stop`` runs first on stop, to end
    long-lived responses such as event streams. ``listening`` (from :func:`listening_socket`)
    serves on a socket bound before a fork instead, shared with the other workers.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        port: int = 0,
        host: str = LOOPBACK,
        before_stop: Callable[[], None] | None = None,
        listening: socket.socket | None = None,
    ) -> None:
        self._server: WSGIServer
        if listening is not None:
            self._server = SharedSocketWSGIServer(listening, _QuietRequestHandler)
            self._server.set_app(app)
        else:
            self._server = make_server(
                host, port, app, server_class=ThreadingWSGIServer, handler_class=_QuietRequestHandler
            )
        self._before_stop = before_stop
        self._serving = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8000/``."""
        host = str(self._server.server_address[0])
        return f"http://{host}:{self.port}/"

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` is called from another (or Ctrl-C)."""
        self._serving.set()
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._serving.clear()

    def start(self) -> DemoServer:
        """Serve from a background thread; returns ``self``."""
        self._thread = threading.Thread(target=self.serve_forever, name="demo-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """End streams, stop accepting, and close the socket."""
        if self._before_stop is not None:
            self._before_stop()
        if self._serving.is_set():
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
