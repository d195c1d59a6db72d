"""The composition root's one shape: what a storage builder gets, and the storage it opens.

Every storage (memory, SQL, Redis, two-tier, or an application's own) is a builder with one
method, ``open(wiring) -> OpenStorage``. Inside, the built-in ones wire their adapters with a
dependency-injector container (``*_storage.py``): composition (two-tier is the Redis and the
SQL containers together), ``Resource`` lifecycles (engines, clients, locks: opened on first use,
released in dependency order by ``shutdown_resources``) and overrides (tests inject faults).
What leaves the builder is :class:`OpenStorage`, a typed record checked when it is built, from
which :class:`PlatformSessions` builds its use cases. Nothing is built at import time, and
nothing here imports a store's library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from attrs import field, frozen
from attrs.validators import instance_of, is_callable, optional

from platform_sessions.application.storage_operations import StorageOperations
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.domain.ports import (
    Clock,
    EventPublisher,
    PlatformDirectory,
    SessionContextQuery,
    UnitOfWorkFactory,
    UserSessionRepository,
)
from platform_sessions.domain.routing import RoutingKey
from platform_sessions.entrypoints.store_checks import (
    CheckedOperations,
    HealthReport,
    Rewarm,
    StoreCheck,
    check_while_starting,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")


@frozen(kw_only=True)
class Wiring:
    """What ``bootstrap`` hands every storage builder.

    ``fingerprint`` is the routing key's when the key outlives this process: the stores must
    hold data of that key (else :class:`MisconfiguredStore`). ``event_publisher`` replaces the
    storage's own, which is then never built.
    """

    policy: SessionPolicy = field(validator=instance_of(SessionPolicy))
    routing_key: RoutingKey = field(validator=instance_of(RoutingKey))
    clock: Clock = field(validator=instance_of(Clock))  # type: ignore[type-abstract]
    fingerprint: str | None = None
    event_publisher: EventPublisher | None = field(
        default=None,
        validator=optional(instance_of(EventPublisher)),  # type: ignore[type-abstract]
    )


@frozen(kw_only=True)
class OpenStorage:
    """A storage opened for this process: the ports the use cases need, the operator's
    operations (health, rewarm), and what releases it all (idempotent, never raises).

    Every field is checked when the record is built, so a storage wired wrongly fails where
    it is opened (and in the test that opens every storage), not in a request.
    """

    user_sessions: UserSessionRepository = field(validator=instance_of(UserSessionRepository))  # type: ignore[type-abstract]
    session_contexts: SessionContextQuery = field(validator=instance_of(SessionContextQuery))  # type: ignore[type-abstract]
    platform_directory: PlatformDirectory = field(validator=instance_of(PlatformDirectory))  # type: ignore[type-abstract]
    uow_factory: UnitOfWorkFactory = field(validator=is_callable())
    event_publisher: EventPublisher = field(validator=instance_of(EventPublisher))  # type: ignore[type-abstract]
    clock: Clock = field(validator=instance_of(Clock))  # type: ignore[type-abstract]
    operations: StorageOperations = field(validator=instance_of(StorageOperations))  # type: ignore[type-abstract]
    close: Callable[[], None] = field(validator=is_callable())


class StorageBuilder(Protocol):
    """Opens one kind of storage; ``bootstrap(storage=...)`` takes any object with this method."""

    def open(self, wiring: Wiring) -> OpenStorage:
        """Build the storage's adapters for ``wiring``, migrate if the builder says so, check
        the stores (a misconfiguration raises, an unreachable store is logged), and return it.
        On any failure, release what was already opened before raising."""
        ...


def open_storage(
    container: Any,
    wiring: Wiring,
    *,
    report: HealthReport,
    description: str,
    checks: Sequence[StoreCheck] = (),
    rewarm: Rewarm | None = None,
    close: Callable[[], None] | None = None,
) -> OpenStorage:
    """The storage behind ``container``, a storage container providing ``user_sessions``,
    ``session_contexts``, ``platform_directory``, ``uow_factory`` and ``event_publisher``.

    Builds the record (opening the engine or client the ports need), runs ``checks``, and on
    any failure runs ``close`` (by default the container's ``shutdown_resources``) and raises.
    Its operations: ``report`` with ``description`` and the ``checks`` (see
    :class:`CheckedOperations`), and ``rewarm`` if the storage has one.
    """
    release = once(close or container.shutdown_resources)
    try:
        storage = OpenStorage(
            user_sessions=container.user_sessions(),
            session_contexts=container.session_contexts(),
            platform_directory=container.platform_directory(),
            uow_factory=container.uow_factory,
            event_publisher=wiring.event_publisher or container.event_publisher(),
            clock=wiring.clock,
            operations=CheckedOperations(report, store=description, checks=checks, rewarm=rewarm),
            close=release,
        )
        check_while_starting(checks, description)
    except BaseException:
        release()
        raise
    return storage


def lasting(value: T, release: Callable[[], object], what: str) -> Iterator[T]:
    """A ``Resource``'s body: ``value`` while the storage is open, then ``release()``. A
    failing release is logged, so that the storage's other resources are released all the same."""
    yield value
    try:
        release()
    except Exception:
        logger.exception("releasing %s failed", what)


def once(close: Callable[[], object]) -> Callable[[], None]:
    """``close`` run on the first call only; a failure is logged, never raised (closing is
    what a process does on its way out)."""
    pending = [close]

    def close_once() -> None:
        while pending:
            try:
                pending.pop()()
            except Exception:
                logger.exception("closing the storage failed")

    return close_once
