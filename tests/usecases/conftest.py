from __future__ import annotations

import pytest

from platform_sessions.adapters.memory import InMemoryEventPublisher, InMemoryPlatformStore
from tests.usecases.world import RecordingDirectory, RecordingSessions, World


@pytest.fixture
def world(clock, policy) -> World:
    store = InMemoryPlatformStore()
    return World(
        clock=clock,
        policy=policy,
        sessions=RecordingSessions(policy),
        store=store,
        directory=RecordingDirectory(store),
        publisher=InMemoryEventPublisher(),
    )
