"""Private redis-server processes on loopback that a test may kill, freeze and restart."""

from __future__ import annotations

import ctypes
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.support.ports import free_loopback_port
from tests.support.redis_clients import ping_error
from tests.support.settings import LOOPBACK

REDIS_SERVER_EXECUTABLE = "redis-server"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
FREEZE_TIMEOUT_S = 2.0
# A "free" port can be taken by someone else before redis-server binds it; retrying on a
# fresh port a few times makes that race harmless without looping forever.
START_ATTEMPTS = 3
POLL_INTERVAL_S = 0.05
LOG_TAIL_BYTES = 2000
_PR_SET_PDEATHSIG = 1
# Loaded now rather than in the child, where between fork and exec only simple calls are safe.
_LIBC = ctypes.CDLL(None) if sys.platform == "linux" else None


class RedisServerStartError(RuntimeError):
    """redis-server did not come up answering PING."""


def find_redis_server() -> str | None:
    return shutil.which(REDIS_SERVER_EXECUTABLE)


class PrivateRedisServer:
    """One redis-server we own: empty at every start (nothing persisted), always on one port."""

    def __init__(self, executable: str, workdir: Path, port: int, extra_args: Sequence[str] = ()) -> None:
        self.host = LOOPBACK
        self.port = port
        self.workdir = workdir
        self._executable = executable
        self._extra_args = tuple(extra_args)
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"PrivateRedisServer({self.host}:{self.port}, pid={self.pid})"

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.workdir / "redis-server.log"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def is_running(self) -> bool:
        """True while the process exists, frozen or not."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Launch the process and return once it answers PING."""
        if self.is_running():
            raise RuntimeError(f"{self!r} is already running")
        self._process = self._launch()
        self._wait_until_answering()

    def restart(self) -> None:
        """Start again, empty, on the same port; a process still running is killed first."""
        self.kill()
        self.start()

    def kill(self) -> None:
        """SIGKILL, as a crash would; also works on a frozen server. Idempotent."""
        if self._process is not None:
            # Popen skips the signal once the process is reaped; an unreaped zombie ignores it.
            self._process.send_signal(signal.SIGKILL)
        self._reap(STOP_TIMEOUT_S)

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its connections open but stops answering."""
        self._signal(signal.SIGSTOP)
        self._wait_until_stopped()

    def thaw(self) -> None:
        """SIGCONT: a frozen server goes on, answering whatever queued up meanwhile."""
        self._signal(signal.SIGCONT)

    def stop(self) -> None:
        """Graceful shutdown, falling back to SIGKILL; safe on a frozen or dead server. Idempotent."""
        if not self.is_running():
            self._reap(STOP_TIMEOUT_S)
            return
        process = self._require_process()
        # A stopped process would leave SIGTERM pending forever: wake it up first. Popen's
        # own send_signal, unlike _signal, tolerates the process dying in the meantime.
        process.send_signal(signal.SIGCONT)
        process.send_signal(signal.SIGTERM)
        try:
            self._reap(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no log)"
        return data[-LOG_TAIL_BYTES:].decode(errors="replace")

    def _command(self) -> list[str]:
        return [
            self._executable,
            "--bind", self.host,
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--daemonize", "no",
            *self._extra_args,
        ]  # fmt: skip

    def _launch(self) -> subprocess.Popen[bytes]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                self._command(),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - pytest starts servers from one thread
            )

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last_error: str | None = "not tried"
        while time.monotonic() < deadline:
            process = self._require_process()
            if process.poll() is not None:
                raise RedisServerStartError(
                    f"redis-server on port {self.port} exited with code {process.returncode} "
                    f"before answering PING; log tail:\n{self.log_tail()}"
                )
            last_error = ping_error(self.host, self.port, timeout_s=0.5)
            if last_error is None:
                return
            time.sleep(POLL_INTERVAL_S)
        self.kill()
        raise RedisServerStartError(
            f"redis-server on port {self.port} did not answer PING within {START_TIMEOUT_S}s "
            f"({last_error}); log tail:\n{self.log_tail()}"
        )

    def _wait_until_stopped(self) -> None:
        # SIGSTOP is delivered asynchronously; waiting makes "frozen" true when freeze() returns.
        pid = self._require_process().pid
        deadline = time.monotonic() + FREEZE_TIMEOUT_S
        while time.monotonic() < deadline:
            state = _process_state(pid)
            if state is None or state in ("T", "t"):
                return  # No /proc to ask (not Linux), or stopped.
            time.sleep(0.01)
        raise RuntimeError(f"{self!r} did not stop within {FREEZE_TIMEOUT_S}s of SIGSTOP")

    def _signal(self, signum: signal.Signals) -> None:
        process = self._require_process()
        if process.poll() is not None:
            raise RuntimeError(f"{self!r} is not running (exit code {process.returncode})")
        process.send_signal(signum)

    def _reap(self, timeout_s: float) -> None:
        if self._process is not None:
            self._process.wait(timeout=timeout_s)

    def _require_process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError(f"{self!r} was never started")
        return self._process


def start_private_redis_server(
    executable: str,
    workdir: Path,
    make_extra_args: Callable[[], Sequence[str]] = tuple,
) -> PrivateRedisServer:
    """Start a server on a free loopback port, retrying on a fresh port if the start fails.

    `make_extra_args` is called once per attempt so that extra ports it picks (such as a
    cluster bus port) are fresh each time too.
    """
    failures: list[str] = []
    for _ in range(START_ATTEMPTS):
        server = PrivateRedisServer(executable, workdir, free_loopback_port(), make_extra_args())
        try:
            server.start()
        except RedisServerStartError as error:
            server.kill()
            failures.append(str(error))
            continue
        return server
    raise RedisServerStartError(f"redis-server failed {START_ATTEMPTS} times:\n" + "\n---\n".join(failures))


class RedisServerFactory:
    """Starts private servers for one test; `stop_all` ends every one of them, frozen or not."""

    def __init__(self, executable: str, make_workdir: Callable[[], Path]) -> None:
        self._executable = executable
        self._make_workdir = make_workdir
        self._servers: list[PrivateRedisServer] = []

    def __call__(self, *extra_args: str) -> PrivateRedisServer:
        """A new running server; `extra_args` are passed to redis-server (e.g. "--maxmemory", "1mb")."""
        server = start_private_redis_server(self._executable, self._make_workdir(), lambda: extra_args)
        self._servers.append(server)
        return server

    def stop_all(self) -> None:
        stop_servers(self._servers)


def stop_servers(servers: Sequence[PrivateRedisServer]) -> None:
    """Stop every server even when some fail to stop, then report the failures together."""
    failures: list[str] = []
    for server in servers:
        try:
            server.stop()
        except Exception as error:  # Broad on purpose: the other servers must still stop.
            failures.append(f"{server!r}: {error!r}")
    if failures:
        raise RuntimeError("could not stop redis-server processes:\n" + "\n".join(failures))


def _process_state(pid: int) -> str | None:
    """The state letter from /proc (e.g. R, S, T), or None where /proc cannot tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may contain spaces; the state follows the last ')'.
    return stat.rpartition(")")[2].split()[0]


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel SIGKILLs the server if pytest itself is killed.

    Teardown normally stops every server; this covers the run being killed (e.g. a CI
    timeout), which would otherwise leave servers behind on a reused machine.
    """
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
