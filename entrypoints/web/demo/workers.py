"""``platform-sessions demo --workers N``: the demo as N pre-forked worker processes on Redis.

A real deployment runs several processes (gunicorn ``-w N``); so can the demo. The parent binds
the listening socket, seeds the users once (so that every worker knows the same passwords,
kept only as scrypt hashes in memory), prints them, closes its own storage and forks N workers.
Each worker bootstraps its own storage after the fork (its own Redis client, engine, near
cache and event subscriber) and serves the shared socket with the threaded server; the kernel
hands each connection to one of them. Sessions live in Redis and the database that every
worker shares, so any worker serves any request, and a switch or a logout made through one
reaches the tabs streaming from the others through Redis pub/sub.

Ctrl-C (or SIGTERM) in the parent stops the workers: each ends its open streams and closes
its storage. A worker that dies is reported, not replaced (it is a demo, not a supervisor).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import time
import webbrowser
from collections.abc import Callable
from types import FrameType
from typing import Any

from platform_sessions.domain.errors import InvalidInput
from platform_sessions.entrypoints.bootstrap import bootstrap
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.settings import DEFAULT_DATABASE_URL, Settings
from platform_sessions.entrypoints.sqlite_file import embedded_routing_key
from platform_sessions.entrypoints.web.demo.seed import seed_demo
from platform_sessions.entrypoints.web.demo.serve import Printer, _can_open_browser, _print, introduction
from platform_sessions.entrypoints.web.demo.server import LOOPBACK, DemoServer, listening_socket
from platform_sessions.entrypoints.web.demo.site import Seeded, build_demo_site

STOP_TIMEOUT_S = 10.0

SessionsFactory = Callable[[], PlatformSessions]


def worker_settings(settings: Settings) -> Settings:
    """The settings every worker shares: Redis, a database, one routing key.

    The database defaults to the demo's SQLite file; the routing key to the configured one
    (``$PLATFORM_SESSIONS_ROUTING_KEY`` or its file), else the key kept beside that SQLite file.
    """
    if settings.redis_url is None:
        raise InvalidInput(
            "--workers needs --redis-url: the embedded Redis lives inside one process, "
            "so other workers could not see its sessions"
        )
    shared = settings
    if settings.database_url is None:
        shared = settings.with_stores(
            redis_url=settings.redis_url, redis_cluster_nodes=None, database_url=DEFAULT_DATABASE_URL
        )
    if shared.routing_key is None:
        assert shared.database_url is not None
        shared = shared.with_routing_key(embedded_routing_key(shared.database_url), "the demo's key file")
    return shared


def serve_demo_workers(
    open_sessions: SessionsFactory,
    *,
    workers: int,
    port: int,
    open_browser: bool,
    storage: str,
    say: Printer = _print,
    heartbeat_s: float = 10.0,
) -> int:
    """Serve the demo from ``workers`` forked processes until Ctrl-C; returns the exit status.

    Raises ``OSError`` if the port cannot be bound.
    """
    listening = listening_socket(port)
    try:
        with open_sessions() as seeding:
            seeded = seed_demo(seeding)
        host, bound = listening.getsockname()[:2]
        url = f"http://{host}:{bound}/"
        children = [_fork_worker(listening, open_sessions, seeded, heartbeat_s) for _ in range(workers)]
        for line in introduction(url, seeded[1], f"{storage}; {workers} worker processes"):
            say(line)
        if open_browser and _can_open_browser():
            webbrowser.open(url)
        return _supervise(children, say)
    finally:
        listening.close()


def _fork_worker(listening: Any, open_sessions: SessionsFactory, seeded: Seeded, heartbeat_s: float) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid != 0:
        return pid
    status = 1
    try:
        _serve_worker(listening, open_sessions, seeded, heartbeat_s)
        status = 0
    except BaseException as error:  # nothing of the parent's stack may run in a worker
        if not isinstance(error, KeyboardInterrupt):
            print(f"demo worker {os.getpid()} failed: {type(error).__name__}: {error}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _serve_worker(listening: Any, open_sessions: SessionsFactory, seeded: Seeded, heartbeat_s: float) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    with open_sessions() as sessions:  # this worker's own storage, built after the fork
        site = build_demo_site(sessions, seeded=seeded, heartbeat_s=heartbeat_s)
        server = DemoServer(site.app, listening=listening, before_stop=site.close)
        _freeze_start_up_objects()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()


def _freeze_start_up_objects() -> None:
    # What the worker built before serving (imports, the storage's clients and engine, the
    # app) lives as long as it does: out of the collector's sight, a full collection under
    # load walks only what requests made, not ~10^5 start-up objects (185 ms measured for
    # one, the p99 of the read under gunicorn). What the docs advise deployments to do.
    gc.collect()
    gc.freeze()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _supervise(children: list[int], say: Printer) -> int:
    previous = signal.signal(signal.SIGTERM, _interrupt)
    alive = set(children)
    status = 0
    try:
        while alive:
            pid, code = os.wait()
            if pid in alive:
                alive.discard(pid)
                say(f"worker {pid} exited ({_describe(code)})")
                status = 1
    except KeyboardInterrupt:
        say("\nStopping the workers.")
    finally:
        _stop(alive)
        signal.signal(signal.SIGTERM, previous)
    return status


def _stop(alive: set[int]) -> None:
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            with contextlib.suppress(ChildProcessError):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done == 0:
                    continue
            alive.discard(pid)
        time.sleep(0.05)
    for pid in alive:  # did not stop in time
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _describe(code: int) -> str:
    if os.WIFSIGNALED(code):
        return f"signal {os.WTERMSIG(code)}"
    return f"status {os.WEXITSTATUS(code)}"


def open_worker_sessions(settings: Settings) -> SessionsFactory:
    """What each worker (and the seeding parent) calls to build its own storage."""
    return lambda: bootstrap(settings=settings)


__all__ = ["LOOPBACK", "open_worker_sessions", "serve_demo_workers", "worker_settings"]
