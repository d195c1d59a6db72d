"""``bootstrap``: configuration in, a ready :class:`PlatformSessions` out."""

from __future__ import annotations

import logging
import os
import secrets
from typing import Literal

from platform_sessions.domain.errors import InvalidInput
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock, EventPublisher
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.container import Container
from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.memory_storage import MemoryStorage

logger = logging.getLogger(__name__)

ROUTING_KEY_ENV = "PLATFORM_SESSIONS_ROUTING_KEY"

Storage = Literal["memory"]


def bootstrap(
    *,
    storage: Storage = "memory",
    policy: SessionPolicy | None = None,
    routing_key: RoutingKey | str | bytes | None = None,
    clock: Clock | None = None,
    event_publisher: EventPublisher | None = None,
) -> PlatformSessions:
    """Wire the library and return its facade.

    - ``storage``: where user sessions and platform connections live. ``"memory"`` keeps
      everything in this process (tests, demos, single-process tools).
    - ``policy``: timeouts and limits (defaults: 2 h idle, 7 days absolute, 60 s touch
      interval, 20 sessions per user).
    - ``routing_key``: the server secret behind token routing tags; the same in every process
      and across restarts. Defaults to ``$PLATFORM_SESSIONS_ROUTING_KEY``; for in-memory
      storage a random key is fine, as nothing outlives the process.
    - ``clock``, ``event_publisher``: replace the system clock or the storage's publisher.
    """
    if storage != "memory":
        raise InvalidInput(f"unknown storage {storage!r}")
    container = Container(
        policy=policy or SessionPolicy(),
        routing_key=_routing_key(routing_key),
    )
    if clock is not None:
        container.clock.override(clock)
    if event_publisher is not None:
        container.event_publisher.override(event_publisher)
    container.storage.override(MemoryStorage(policy=container.policy))
    facade: PlatformSessions = container.facade()
    return facade


def _routing_key(configured: RoutingKey | str | bytes | None) -> RoutingKey:
    if isinstance(configured, RoutingKey):
        return configured
    if isinstance(configured, str):
        return RoutingKey.from_text(configured)
    if isinstance(configured, bytes):
        return RoutingKey(configured)
    from_env = os.environ.get(ROUTING_KEY_ENV)
    if from_env:
        return RoutingKey.from_text(from_env)
    return RoutingKey(secrets.token_bytes(32))
