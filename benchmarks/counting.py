"""Count what an operation sends to the servers instead of assuming it.

Redis: every packed-command send of a redis-py connection is one request on the wire; a
pipeline or a script is one send, so sends are round trips. The handshake of a connection the
pool opens (once per connection) is left out. SQL: SQLAlchemy's
``before_cursor_execute`` (statements) and ``begin`` (transactions) events, on every engine.

Counts are kept per execution context (a ``ContextVar``), so that work on the library's
background threads (the event publisher, the relay, the near cache's listener: off the
request's path, and started with contexts of their own) is not charged to the request that
queued it, while work a request hands to a thread with its context (``asyncio.to_thread``, as
the ASGI middleware writes ``request.session`` back; Starlette's threadpool endpoints) is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from attrs import define
from redis.connection import AbstractConnection
from sqlalchemy import event
from sqlalchemy.engine import Engine


@define
class Counts:
    """What one thread sent: Redis round trips, SQL statements, SQL transactions."""

    redis: int = 0
    sql: int = 0
    transactions: int = 0

    def minus(self, earlier: Counts) -> Counts:
        return Counts(
            self.redis - earlier.redis, self.sql - earlier.sql, self.transactions - earlier.transactions
        )


class _PerThread(threading.local):
    def __init__(self) -> None:
        self.connecting = False


_local = _PerThread()
# Outside ``counting()``, and on threads started with an empty context, counts go nowhere.
_counts: ContextVar[Counts | None] = ContextVar("benchmark_counts", default=None)


def _sink() -> Counts:
    counts = _counts.get()
    return Counts() if counts is None else counts


def current() -> Counts:
    """This context's running totals (a copy)."""
    counts = _sink()
    return Counts(counts.redis, counts.sql, counts.transactions)


def count_sql_statement() -> None:
    """Count one SQL statement sent through a driver SQLAlchemy does not see (Django's)."""
    _sink().sql += 1


def measured(operation: Callable[[], object]) -> Counts:
    """Run ``operation`` once and return what this context sent while it ran."""
    before = current()
    operation()
    return current().minus(before)


@contextmanager
def counting() -> Iterator[None]:
    """Install the counters for the duration of a benchmark run, and remove them after.

    The library builds its own clients (there is no hook to hand it a connection class), so
    the counter wraps the method every redis-py TCP connection sends through, for every pool
    this process creates; the original is restored on exit.
    """
    original: Callable[..., Any] = AbstractConnection.send_packed_command
    original_connect: Callable[..., Any] = AbstractConnection.connect_check_health

    def counted_send(self: AbstractConnection, command: Any, check_health: bool = True) -> Any:
        if not _local.connecting:
            _sink().redis += 1
        return original(self, command, check_health)

    def connect_uncounted(self: AbstractConnection, *args: Any, **kwargs: Any) -> Any:
        # A pool opens a connection once (HELLO, CLIENT SETINFO...): not the operation's round
        # trips, and charged to whichever call first needed a second connection at the moment
        # a background thread (the relay) held the first, which would be noise in the counts.
        _local.connecting = True
        try:
            return original_connect(self, *args, **kwargs)
        finally:
            _local.connecting = False

    def on_statement(*_: Any) -> None:
        _sink().sql += 1

    def on_begin(*_: Any) -> None:
        _sink().transactions += 1

    AbstractConnection.send_packed_command = counted_send  # type: ignore[method-assign]
    AbstractConnection.connect_check_health = connect_uncounted  # type: ignore[method-assign]
    event.listen(Engine, "before_cursor_execute", on_statement)
    event.listen(Engine, "begin", on_begin)
    # Set in the caller's context: what it runs, and what it hands on with its context, counts.
    installed = _counts.set(Counts())
    try:
        yield
    finally:
        _counts.reset(installed)
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
        AbstractConnection.connect_check_health = original_connect  # type: ignore[method-assign]
        event.remove(Engine, "before_cursor_execute", on_statement)
        event.remove(Engine, "begin", on_begin)
