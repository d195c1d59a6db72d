"""Fixtures of the web tests (the shared ``clock`` and ``policy`` come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from platform_sessions.adapters.memory import ManualClock
from platform_sessions.entrypoints import PlatformSessions
from tests.web.support import Alice, connect_platforms, memory_sessions


@pytest.fixture
def sessions(clock: ManualClock) -> Iterator[PlatformSessions]:
    with memory_sessions(clock) as facade:
        yield facade


@pytest.fixture
def alice(sessions: PlatformSessions) -> Alice:
    return connect_platforms(sessions)
