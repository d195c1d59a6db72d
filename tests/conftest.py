"""Fixtures shared by every test: a policy, a clock tests move by hand, and sample data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from platform_sessions.adapters.memory import ManualClock
from platform_sessions.domain.policy import SessionPolicy

pytest_plugins = ["tests.support.services"]


@pytest.fixture(autouse=True)
def _embedded_database_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bootstrap() with no storage is the SQL storage on a SQLite file, which would
    # otherwise land in the working directory and outlive the test.
    directory = tmp_path_factory.mktemp("embedded")
    monkeypatch.setenv("PLATFORM_SESSIONS_DATABASE_URL", f"sqlite:///{directory / 'sessions.sqlite3'}")


@pytest.fixture
def policy() -> SessionPolicy:
    return SessionPolicy(
        idle_timeout=timedelta(hours=2),
        absolute_lifetime=timedelta(days=7),
        touch_interval=timedelta(seconds=60),
        max_sessions_per_user=3,
    )


@pytest.fixture
def clock() -> ManualClock:
    # Near real time, so that stores with real TTLs (Redis) keep what the tests write.
    return ManualClock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1))
