"""The apps the throughput section serves with gunicorn and uvicorn, built in the server's worker.

The servers import these factories (``benchmarks.served_apps:library_flask()``) and configure
them from the environment the benchmark sets (``PS_BENCH_*``): the same servers, key prefix
and routing key as the benchmark process, which logs the session in before the load starts.
Each worker builds its own facade after the server forked it, as an application would.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from benchmarks.in_process import AsgiApp, WsgiApp
from benchmarks.peer_apps import (
    flask_platform_sessions,
    flask_session_redis,
    peer_prefix,
    starlette_platform_sessions,
    starsessions_redis,
)
from benchmarks.storages import Servers, StorageKind, open_facade

PLATFORMS_ENV = "PS_BENCH_PLATFORMS"


def servers_from_environment() -> Servers:
    env = os.environ
    return Servers(
        env["PS_BENCH_REDIS_URL"],
        env["PS_BENCH_DATABASE_URL"],
        env["PS_BENCH_KEY_PREFIX"],
        env["PS_BENCH_ROUTING_KEY"],
    )


def servers_environment(
    servers: Servers, storage: StorageKind, user_id: str, platforms: tuple[str, str]
) -> dict[str, str]:
    """What ``servers_from_environment`` and the factories read, for a server's environment."""
    return {
        "PS_BENCH_REDIS_URL": servers.redis_url,
        "PS_BENCH_DATABASE_URL": servers.database_url,
        "PS_BENCH_KEY_PREFIX": servers.key_prefix,
        "PS_BENCH_ROUTING_KEY": servers.routing_key,
        "PS_BENCH_STORAGE": storage.value,
        "PS_BENCH_USER": user_id,
        PLATFORMS_ENV: ",".join(platforms),
    }


App = TypeVar("App")


def _after_build(app: App) -> App:
    # PS_BENCH_GC_FREEZE=1: move what the worker built into the permanent generation, so that
    # a full collection under load need not walk every import (the tail's cause, see
    # results.md). After the app is built, storage included: freezing before it left the
    # facade's clients, engine and their imports in the collector's sight.
    if os.environ.get("PS_BENCH_GC_FREEZE") == "1":
        import gc

        gc.collect()
        gc.freeze()
    return app


def library_flask() -> WsgiApp:
    facade = open_facade(StorageKind(os.environ["PS_BENCH_STORAGE"]), servers_from_environment())
    first, second = os.environ[PLATFORMS_ENV].split(",")
    return _after_build(flask_platform_sessions(facade, os.environ["PS_BENCH_USER"], (first, second)))


def flask_session() -> WsgiApp:
    servers = servers_from_environment()
    return _after_build(flask_session_redis(servers.redis_url, peer_prefix(servers.key_prefix)))


def library_starlette() -> AsgiApp:
    return starlette_platform_sessions(
        open_facade(StorageKind(os.environ["PS_BENCH_STORAGE"]), servers_from_environment())
    )


def starsessions() -> Any:
    servers = servers_from_environment()
    return starsessions_redis(servers.redis_url, peer_prefix(servers.key_prefix))
