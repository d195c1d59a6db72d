"""PostgreSQL connections whose every round trip is bounded, on the server and in the client.

A server setting bounds only what the server runs: ``statement_timeout`` cancels a slow
statement or a lock wait, but a paused server, a frozen VM or a silent network never receive
the query, and the client waits forever (measured: a switch on a pooled connection waited out
the whole 20 s of a paused database). TCP settings do not close that gap either: keepalives
only probe an idle connection, and ``tcp_user_timeout`` bounds data the peer's kernel has not
acknowledged, but a proxy, a load balancer or PgBouncer in between acknowledges every byte
while its upstream is frozen. Only the client knows how long it has been waiting, so the bound
is enforced there:

- psycopg runs every network exchange of a connection (a statement, fetching its rows, COMMIT,
  ROLLBACK, the pool's pre-ping) through ``Connection.wait``. The subclass here gives each
  such wait a deadline (``statement_s``); past it, the connection is closed: its protocol state
  is unknown, so it can never be reused. The error is an ``OperationalError`` on a broken
  connection, which SQLAlchemy's dialect reads as a disconnect: the connection is invalidated,
  not returned to the pool, and the pool's older connections are recycled on checkout.
- The server cancels statements at 90% of the same bound (``statement_timeout``), so a slow
  statement on a live server fails cleanly and keeps its connection; and ``tcp_user_timeout``
  plus keepalives let the kernel fail a connection whose peer vanished without the client
  having to wait for the deadline.

Hand-written because neither psycopg nor SQLAlchemy offers a client-side bound for a
synchronous connection (psycopg's asyncio connections can be cancelled by the event loop;
SQLAlchemy's ``pool_timeout`` bounds only the wait for a free connection). psycopg 3.3's
``wait`` accepts a ``timeout``: this module passes it on every call.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from platform_sessions.adapters.sqlalchemy.timeouts import DatabaseTimeouts

# libpq keepalive settings for idle pooled connections: probe after 5 s of silence, every 2 s,
# give up after 3 unanswered probes.
KEEPALIVE_IDLE_S = 5
KEEPALIVE_INTERVAL_S = 2
KEEPALIVE_COUNT = 3
ROUND_TRIP_BOUND_ATTRIBUTE = "platform_sessions_round_trip_s"
# In the message of the error the deadline raises: how a caller tells it from a server's error.
TIMED_OUT_MARK = "did not answer within"


def configure_postgres(engine: Engine, timeouts: DatabaseTimeouts) -> None:
    """Open ``engine``'s connections as bounded ones, with the libpq settings above.

    Settings given in the URL's query win over these (a deployment may know better).
    """
    connection_class = bounded_connection_class()

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: object, _record: object, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        cparams.setdefault("connect_timeout", timeouts.connect_s)
        cparams.setdefault("keepalives", 1)
        cparams.setdefault("keepalives_idle", KEEPALIVE_IDLE_S)
        cparams.setdefault("keepalives_interval", KEEPALIVE_INTERVAL_S)
        cparams.setdefault("keepalives_count", KEEPALIVE_COUNT)
        if timeouts.statement_s is not None:
            cparams.setdefault("tcp_user_timeout", math.ceil(timeouts.statement_s * 1000))
        # A startup option: no round trip. Given first, so a statement_timeout in the URL's
        # own ``options`` still wins.
        ours = f"-c statement_timeout={timeouts.server_statement_timeout_ms}"
        given = cparams.get("options")
        cparams["options"] = f"{ours} {given}" if given else ours
        connection = connection_class.connect(*cargs, **cparams)
        setattr(connection, ROUND_TRIP_BOUND_ATTRIBUTE, timeouts.statement_s)
        return connection


@contextmanager
def unbounded(dbapi_connection: Any) -> Iterator[None]:
    """Lift the client's round-trip bound on one connection for a block (a migration's long
    DDL); the caller lifts the server's ``statement_timeout`` itself (``SET LOCAL``)."""
    previous = getattr(dbapi_connection, ROUND_TRIP_BOUND_ATTRIBUTE, None)
    if previous is None:
        yield
        return
    setattr(dbapi_connection, ROUND_TRIP_BOUND_ATTRIBUTE, None)
    try:
        yield
    finally:
        setattr(dbapi_connection, ROUND_TRIP_BOUND_ATTRIBUTE, previous)


@functools.cache
def bounded_connection_class() -> type[Any]:
    """The ``psycopg.Connection`` subclass, built on first use (psycopg is imported only by
    deployments on PostgreSQL)."""
    import psycopg

    class BoundedConnection(psycopg.Connection[Any]):
        """A psycopg connection that gives up on a silent server: see the module docstring."""

        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            bound: float | None = getattr(self, ROUND_TRIP_BOUND_ATTRIBUTE, None)
            if bound is None:
                return super().wait(gen, interval=interval, timeout=timeout)
            started = time.monotonic()
            try:
                return super().wait(
                    gen, interval=interval, timeout=bound if timeout is None else min(bound, timeout)
                )
            except psycopg.OperationalError as error:
                if self.broken or time.monotonic() - started < bound:
                    raise  # the server or the kernel ended it: the driver's own error says why
                # Our deadline: the exchange is half done and the connection unusable.
                self.pgconn.finish()
                raise psycopg.OperationalError(
                    f"the database {TIMED_OUT_MARK} {bound:g} s; the connection was closed"
                ) from error

    return BoundedConnection
