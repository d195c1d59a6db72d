"""A threaded WSGI server from the standard library, good for a local demo with live streams.

Each request, and so each open event stream, gets a thread; a handful of tabs is nothing.
"""

from __future__ import annotations

import logging
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


class _QuietRequestHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        # One line per request is noise at a terminal showing the demo's passwords.
        logger.debug("%s " + format, self.address_string(), *args)


class DemoServer:
    """Serves a WSGI app on the loopback interface until :meth:`stop`.

    ``port=0`` picks a free port (see :attr:`url`). ``before_stop`` runs first on stop, to end
    long-lived responses such as event streams.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        port: int = 0,
        host: str = LOOPBACK,
        before_stop: Callable[[], None] | None = None,
    ) -> None:
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
