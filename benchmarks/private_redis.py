"""A redis-server of our own on a free loopback port, for runs that would disturb the shared one.

Loading a million sessions (or killing the server to measure an outage) on the shared 6379
would slow or break the test runs using it; a private server is empty, unpersisted, and
stopped when the benchmark ends, whatever happens.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.05


class PrivateRedis:
    """One redis-server process we started; ``kill()`` simulates an outage."""

    def __init__(self, executable: str, workdir: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://{LOOPBACK}:{self.port}/0"
        self._process = subprocess.Popen(
            [
                executable,
                "--bind", LOOPBACK,
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(workdir),
                "--daemonize", "no",
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._wait_until_answering()

    def client(self) -> redis.Redis:
        """An admin client with generous timeouts (a million-key MEMORY or INFO is not instant)."""
        return redis.Redis(host=LOOPBACK, port=self.port, socket_timeout=60)

    def kill(self) -> None:
        """SIGKILL, as a crash would; idempotent."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not go; idempotent."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {self._process.returncode} at start")
            try:
                with redis.Redis(host=LOOPBACK, port=self.port, socket_timeout=0.5) as probe:
                    probe.ping()
                return
            except redis.ConnectionError:
                time.sleep(POLL_INTERVAL_S)
        self.kill()
        raise RuntimeError(f"redis-server did not answer PING within {START_TIMEOUT_S}s")


def redis_server_executable() -> str | None:
    return shutil.which("redis-server")


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A running private server, stopped (and its directory removed) on exit."""
    executable = redis_server_executable()
    if executable is None:
        raise RuntimeError("redis-server is not on PATH (install the redis-server package)")
    with tempfile.TemporaryDirectory(prefix="ps-bench-redis-") as workdir:
        server = PrivateRedis(executable, Path(workdir))
        try:
            yield server
        finally:
            server.stop()


def _free_port() -> int:
    # The port is free now; redis-server binds it a moment later. A clash makes the start fail
    # loudly rather than use someone else's server: PING would answer, but on an unknown server,
    # so the port is taken from a socket we bind ourselves and release just before.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port
