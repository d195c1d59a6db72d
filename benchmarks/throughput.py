"""Section "throughput": the read request under real servers, loaded by a C load generator.

gunicorn (``gthread``: one worker, a few threads, as a small WSGI deployment runs) serves this
library's Flask app on two-tier storage and Flask-Session's; uvicorn serves this library's
Starlette app and starsessions'. ``wrk`` (Debian's ``wrk`` package) sends ``GET /read`` with
the session's cookie over a few keep-alive connections for a fixed time; the runs alternate
between the apps, so that a noisy minute is shared. Everything is bounded: each run by wrk's
duration, each server's start by a timeout, and every server is stopped at the end.

Missing pieces (wrk, gunicorn, uvicorn, a peer) skip their rows with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from attrs import define, field

from benchmarks.operations import connect_two_platforms
from benchmarks.peer_apps import PeerMissing, require
from benchmarks.private_redis import private_redis
from benchmarks.served_apps import servers_environment
from benchmarks.storages import Servers, StorageKind, open_facade
from platform_sessions.entrypoints.web.settings import WebSettings

LOOPBACK = "127.0.0.1"
THREADS = 4
CONNECTIONS = 4
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
WRK_SLACK_S = 30.0
WARMUP_REQUESTS = 50
ROOT = Path(__file__).resolve().parent.parent


@define
class ServedRun:
    """One wrk run against one served app."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


@define
class ServedApp:
    server: str  # gunicorn gthread, uvicorn
    name: str
    factory: str  # module:callable for the server
    library: bool  # this library (its session is logged in by the benchmark) or a peer
    gc_freeze: bool = False  # the worker calls gc.freeze() once its app is built
    runs: list[ServedRun] = field(factory=list)

    def best(self) -> ServedRun | None:
        """The run with the most requests per second (the least disturbed by the machine)."""
        return max(self.runs, key=lambda r: r.requests_per_s, default=None)


@define
class ThroughputResult:
    apps: list[ServedApp]
    seconds: float
    repeats: int
    skipped: list[str] = field(factory=list)

    def app(self, name: str) -> ServedApp | None:
        return next((a for a in self.apps if a.name == name and a.runs), None)


LIB_GUNICORN = "platform-sessions two-tier (Flask)"
FLASK_SESSION_GUNICORN = "Flask-Session (Redis)"
FROZEN = ", gc.freeze() after start-up"
SERVED = "benchmarks.served_apps:"
GUNICORN = "gunicorn gthread"
APPS = [
    ServedApp(GUNICORN, LIB_GUNICORN, SERVED + "library_flask()", library=True),
    ServedApp(GUNICORN, FLASK_SESSION_GUNICORN, SERVED + "flask_session()", library=False),
    ServedApp(GUNICORN, LIB_GUNICORN + FROZEN, SERVED + "library_flask()", library=True, gc_freeze=True),
    ServedApp(
        GUNICORN, FLASK_SESSION_GUNICORN + FROZEN, SERVED + "flask_session()", library=False, gc_freeze=True
    ),
    ServedApp(
        "uvicorn", "platform-sessions two-tier (Starlette)", SERVED + "library_starlette", library=True
    ),
    ServedApp("uvicorn", "starsessions (Redis)", SERVED + "starsessions", library=False),
]


def measure_throughput(servers: Servers, *, seconds: float, repeats: int) -> ThroughputResult:
    """Serve each app ``repeats`` times (alternating), load it for ``seconds`` each time."""
    with private_redis() as server:
        return _measure(servers.with_redis(server.url), seconds=seconds, repeats=repeats)


def _measure(servers: Servers, *, seconds: float, repeats: int) -> ThroughputResult:
    wrk = shutil.which("wrk")
    apps = [ServedApp(a.server, a.name, a.factory, a.library, a.gc_freeze) for a in APPS]
    result = ThroughputResult(apps, seconds, repeats)
    if wrk is None:
        result.skipped.append("wrk is not installed (apt-get install wrk): no throughput rows")
        return result
    facade = open_facade(StorageKind.TWO_TIER, servers)
    try:
        user = f"bench-served-{os.getpid()}"
        platforms = connect_two_platforms(facade, user)
        token = str(facade.start_session(user, platform_id=platforms[0]).token)
        environment = {**os.environ, **servers_environment(servers, StorageKind.TWO_TIER, user, platforms)}
        for _ in range(repeats):
            for app in list(result.apps):
                cookie = f"{WebSettings().cookie_key}={token}" if app.library else None
                served_environment = {**environment, "PS_BENCH_GC_FREEZE": "1" if app.gc_freeze else "0"}
                run = _skip_reason(app) or _serve_and_load(wrk, app, served_environment, cookie, seconds)
                if isinstance(run, str):
                    result.skipped.append(f"{app.server}, {app.name}: {run}")
                    result.apps.remove(app)
                else:
                    app.runs.append(run)
    finally:
        facade.close()
    return result


def _skip_reason(app: ServedApp) -> str | None:
    needs = ["gunicorn", "flask"] if app.server.startswith("gunicorn") else ["uvicorn", "starlette"]
    if not app.library:
        needs.append("flask_session" if app.server.startswith("gunicorn") else "starsessions")
    try:
        require(*needs)
    except PeerMissing as missing:
        return str(missing)
    return None


def _serve_and_load(
    wrk: str, app: ServedApp, environment: dict[str, str], cookie: str | None, seconds: float
) -> ServedRun | str:
    port = _free_port()
    with _server(app, port, environment) as started:
        if not started:
            return "the server did not answer in time"
        base = f"http://{LOOPBACK}:{port}"
        if cookie is None:
            cookie = _peer_cookie(base)
        _warm_up(base, cookie)
        command = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{max(seconds, 1):.0f}s", "--latency"]
        command += ["-H", f"Cookie: {cookie}", f"{base}/read"]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=seconds + WRK_SLACK_S, check=True
            )
        except (subprocess.SubprocessError, OSError) as error:
            return f"wrk failed: {error}"
        return _parse_wrk(done.stdout)


@contextmanager
def _server(app: ServedApp, port: int, environment: dict[str, str]) -> Iterator[bool]:
    bind = f"{LOOPBACK}:{port}"
    if app.server.startswith("gunicorn"):
        command = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", str(THREADS)]
        command += ["-b", bind, "--log-level", "warning", app.factory]
    else:
        command = [sys.executable, "-m", "uvicorn", "--host", LOOPBACK, "--port", str(port)]
        command += ["--log-level", "warning", "--no-access-log", app.factory]
        if not app.factory.endswith("()"):
            command.insert(-1, "--factory")
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        yield _wait_until_serving(port, process)
    finally:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)


def _wait_until_serving(port: int, process: subprocess.Popen[str]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _peer_cookie(base: str) -> str:
    """Log a peer's visitor in (its first write creates the session) and keep the cookie."""
    request = urllib.request.Request(f"{base}/modify", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        set_cookie = str(response.headers.get("Set-Cookie", ""))
    return set_cookie.split(";", 1)[0]


def _warm_up(base: str, cookie: str) -> None:
    """A few requests on every thread before the load: connections, scripts, caches, imports.

    Without them the first second of a run (the worker building its facade, migrating,
    loading scripts) lands in the tail, which is not what a running server's reads cost.
    """
    for _ in range(WARMUP_REQUESTS):
        request = urllib.request.Request(f"{base}/read", headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)|Socket errors:.*?timeout (\d+)")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _parse_wrk(output: str) -> ServedRun | str:
    rate = _RATE.search(output)
    latencies = {m.group(1): float(m.group(2)) * _UNIT_MS[m.group(3)] for m in _LATENCY.finditer(output)}
    if rate is None or set(latencies) != {"50", "99"}:
        return f"unreadable wrk output: {output[-300:]!r}"
    errors = sum(int(n) for m in _ERRORS.finditer(output) for n in m.groups() if n)
    return ServedRun(float(rate.group(1)), latencies["50"], latencies["99"], errors)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port
