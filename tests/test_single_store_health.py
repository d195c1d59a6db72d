"""``health()`` of the one-store storages says whether that store answers, checked each time."""

from __future__ import annotations

import socket
from pathlib import Path

from platform_sessions.entrypoints import bootstrap
from tests.builders import ROUTING_KEY


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_sql_storage_is_healthy_while_its_database_answers(tmp_path: Path) -> None:
    with bootstrap(database_url=f"sqlite:///{tmp_path / 'health.db'}") as sessions:
        report = sessions.health()
    assert (report.storage, report.healthy, report.database_reachable) == ("sql", True, True)


def test_the_sql_storage_is_unhealthy_when_its_database_is_away(postgres_url: str) -> None:
    away = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{_closed_port()}")
    with bootstrap(database_url=away, migrate=False) as sessions:
        report = sessions.health()
    assert (report.healthy, report.database_reachable) == (False, False)


def test_the_redis_storage_is_healthy_while_redis_answers(clean_redis_url: str) -> None:
    with bootstrap(redis_url=clean_redis_url, routing_key=ROUTING_KEY) as sessions:
        report = sessions.health()
    assert (report.storage, report.healthy, report.redis_reachable) == ("redis", True, True)


def test_the_redis_storage_is_unhealthy_when_redis_is_away() -> None:
    with bootstrap(redis_url=f"redis://127.0.0.1:{_closed_port()}/0", routing_key=ROUTING_KEY) as sessions:
        report = sessions.health()
    assert (report.healthy, report.redis_reachable) == (False, False)


def test_the_memory_storage_is_always_healthy() -> None:
    with bootstrap(storage="memory") as sessions:
        assert sessions.health().healthy
