"""Counting what reaches Redis: the server's view (MONITOR) and a thread's view (its sends).

MONITOR lists every command a client sent, and separately the commands scripts ran inside
the server (marked ``lua``), which are not round trips. A private server or cluster is used,
so no other client's traffic is counted. The thread's view counts ``send_packed_command``
calls, each one request/response exchange (a pipeline is one), made by the calling thread.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import redis

MAX_ENTRIES = 10_000
MONITOR_TIMEOUT_S = 5.0


@contextmanager
def client_commands(servers: Sequence[tuple[str, int]]) -> Iterator[list[str]]:
    """The names of the commands clients sent to ``servers`` during the block, in order.

    The list is filled when the block ends: each server is sent a marker, and its MONITOR
    stream is read up to that marker.
    """
    commands: list[str] = []
    with ExitStack() as stack:
        monitors = []
        for host, port in servers:
            # Connected before monitoring starts, so its handshake is not in the recording.
            housekeeping = stack.enter_context(
                redis.Redis(host=host, port=port, socket_timeout=MONITOR_TIMEOUT_S)
            )
            housekeeping.ping()
            watcher = stack.enter_context(redis.Redis(host=host, port=port, socket_timeout=MONITOR_TIMEOUT_S))
            monitors.append((housekeeping, stack.enter_context(watcher.monitor())))
        yield commands
        marker = f"end-of-recording-{secrets.token_hex(8)}"
        for housekeeping, monitor in monitors:
            housekeeping.echo(marker)
            commands.extend(_until_marker(monitor, marker))


def _until_marker(monitor: Any, marker: str) -> list[str]:
    seen: list[str] = []
    for _ in range(MAX_ENTRIES):
        entry = monitor.next_command()
        if entry["client_type"] == "lua":
            continue  # run by a script inside the server: not a round trip
        command = str(entry["command"])
        if marker in command:
            return seen
        seen.append(command.split(" ", 1)[0].upper())
    raise AssertionError(f"no end marker within {MAX_ENTRIES} MONITOR entries")


class SendCounter:
    """Counts request/response exchanges per thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_thread: Counter[int] = Counter()

    def record(self) -> None:
        with self._lock:
            self._by_thread[threading.get_ident()] += 1

    def reset(self) -> None:
        with self._lock:
            self._by_thread.clear()

    def of_this_thread(self) -> int:
        with self._lock:
            return self._by_thread[threading.get_ident()]


def counting_connection_class(counter: SendCounter) -> type[redis.Connection]:
    """A real connection class that reports each send to ``counter``."""

    class CountingConnection(redis.Connection):
        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            counter.record()
            super().send_packed_command(command, check_health)

    return CountingConnection


def count_sends(client: redis.Redis, counter: SendCounter) -> None:
    """Make ``client``'s pool open counting connections (before it opened any)."""
    client.connection_pool.reset()
    client.connection_pool.connection_class = counting_connection_class(counter)
