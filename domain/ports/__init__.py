"""The ports: what the use cases need from the outside world, as small abstract classes.

Adapters (in-memory, Redis, SQLAlchemy) implement them; the use cases see nothing else.
"""

from platform_sessions.domain.ports.clock import Clock
from platform_sessions.domain.ports.event_publisher import EventPublisher
from platform_sessions.domain.ports.event_subscriber import EventSubscriber
from platform_sessions.domain.ports.platform_connections import PlatformConnectionRepository
from platform_sessions.domain.ports.platform_directory import PlatformDirectory
from platform_sessions.domain.ports.session_contexts import SessionContextQuery
from platform_sessions.domain.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from platform_sessions.domain.ports.user_sessions import UserSessionRepository

__all__ = [
    "Clock",
    "EventPublisher",
    "EventSubscriber",
    "PlatformConnectionRepository",
    "PlatformDirectory",
    "SessionContextQuery",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UserSessionRepository",
]
