"""In-memory adapters: the fakes of every port, usable from tests and from applications.

They keep the same version, conflict and no-resurrection semantics as the real stores, and are
thread-safe, so use cases behave the same on them as on Redis or SQL.
"""

from platform_sessions.adapters.memory.clock import ManualClock
from platform_sessions.adapters.memory.event_publisher import InMemoryEventPublisher
from platform_sessions.adapters.memory.platform_directory import InMemoryPlatformDirectory
from platform_sessions.adapters.memory.platform_store import InMemoryPlatformStore
from platform_sessions.adapters.memory.unit_of_work import InMemoryUnitOfWork
from platform_sessions.adapters.memory.user_sessions import InMemoryUserSessionRepository

__all__ = [
    "InMemoryEventPublisher",
    "InMemoryPlatformDirectory",
    "InMemoryPlatformStore",
    "InMemoryUnitOfWork",
    "InMemoryUserSessionRepository",
    "ManualClock",
]
