"""The composition root: the one place where ports meet their adapters.

Nothing is built at import time. ``bootstrap`` creates a :class:`Container`, plugs a storage
container into ``storage``, and asks for the facade; engines, clients and pools are created
then, once per process.
"""

from __future__ import annotations

from typing import Any, ClassVar

from dependency_injector import containers, providers

from platform_sessions.adapters.system_clock import SystemClock
from platform_sessions.application.connect_platform import ConnectPlatform
from platform_sessions.application.end_all_sessions import EndAllSessions
from platform_sessions.application.end_session import EndSession, RevokeSession
from platform_sessions.application.list_sessions import ListSessions
from platform_sessions.application.platform_activation import ActivatePlatform, DeactivatePlatform
from platform_sessions.application.purge_expired_sessions import PurgeExpiredSessions
from platform_sessions.application.remove_platform import RemovePlatform
from platform_sessions.application.resolve_session import ResolveSession
from platform_sessions.application.rotate_session import RotateSession
from platform_sessions.application.set_default_platform import SetDefaultPlatform
from platform_sessions.application.start_anonymous_session import StartAnonymousSession
from platform_sessions.application.start_session import StartSession
from platform_sessions.application.switch_platform import SwitchPlatform
from platform_sessions.application.update_platform import UpdatePlatform
from platform_sessions.application.write_session_data import WriteSessionData
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import Clock, EventPublisher
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.facade import PlatformSessions


class Container(containers.DeclarativeContainer):
    """Use cases and the facade, wired to whichever storage container is plugged in."""

    policy = providers.Dependency(instance_of=SessionPolicy)
    routing_key = providers.Dependency(instance_of=RoutingKey)
    # mypy wants concrete classes here; the check is a runtime isinstance, which ABCs support.
    clock = providers.Dependency(instance_of=Clock, default=providers.Singleton(SystemClock))  # type: ignore[type-abstract]
    storage = providers.DependenciesContainer()
    # The storage's publisher unless the application brings its own.
    event_publisher = providers.Dependency(
        instance_of=EventPublisher,  # type: ignore[type-abstract]
        default=storage.event_publisher,
    )

    sessions = storage.user_sessions
    directory = storage.platform_directory
    uow_factory = storage.uow_factory.provider

    rotate = providers.Singleton(
        RotateSession, sessions=sessions, publisher=event_publisher, clock=clock, routing_key=routing_key
    )
    end_session = providers.Singleton(EndSession, sessions=sessions, publisher=event_publisher, clock=clock)
    # What every platform connection use case is built from (a plain dict of providers).
    _platform_parts: ClassVar[dict[str, providers.Provider[Any]]] = {
        "uow_factory": uow_factory,
        "directory": directory,
        "sessions": sessions,
        "publisher": event_publisher,
        "clock": clock,
    }

    facade = providers.Singleton(
        PlatformSessions,
        start=providers.Singleton(
            StartSession,
            sessions=sessions,
            directory=directory,
            publisher=event_publisher,
            clock=clock,
            policy=policy,
            routing_key=routing_key,
        ),
        resolve=providers.Singleton(
            ResolveSession, contexts=storage.session_contexts, clock=clock, policy=policy
        ),
        switch=providers.Singleton(
            SwitchPlatform,
            sessions=sessions,
            directory=directory,
            uow_factory=uow_factory,
            publisher=event_publisher,
            clock=clock,
            policy=policy,
            rotate=rotate,
        ),
        rotate=rotate,
        end=end_session,
        revoke=providers.Singleton(RevokeSession, sessions=sessions, end_session=end_session, clock=clock),
        end_all=providers.Singleton(
            EndAllSessions, sessions=sessions, publisher=event_publisher, clock=clock
        ),
        list_sessions=providers.Singleton(ListSessions, sessions=sessions, clock=clock, policy=policy),
        purge=providers.Singleton(PurgeExpiredSessions, sessions=sessions, clock=clock),
        connect_platform=providers.Singleton(ConnectPlatform, **_platform_parts),
        update_platform=providers.Singleton(UpdatePlatform, **_platform_parts),
        set_default_platform=providers.Singleton(SetDefaultPlatform, **_platform_parts),
        deactivate_platform=providers.Singleton(DeactivatePlatform, **_platform_parts),
        activate_platform=providers.Singleton(ActivatePlatform, **_platform_parts),
        remove_platform=providers.Singleton(RemovePlatform, **_platform_parts),
        directory=directory,
        events=event_publisher,
        clock=clock,
        policy=policy,
        start_anonymous=providers.Singleton(
            StartAnonymousSession, sessions=sessions, clock=clock, policy=policy
        ),
        write_data=providers.Singleton(WriteSessionData, sessions=sessions, policy=policy),
    )
