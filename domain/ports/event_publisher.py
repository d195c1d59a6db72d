"""Where domain events go once the change they describe is stored."""

from __future__ import annotations

import abc

from platform_sessions.domain.events import DomainEvent


class EventPublisher(abc.ABC):
    """Delivers domain events to other workers and browser tabs."""

    @abc.abstractmethod
    def publish(self, event: DomainEvent) -> None:
        """Deliver ``event`` to whoever follows its user.

        Best effort: the change it reports is already stored, so an implementation logs a
        delivery failure instead of raising it into the use case.
        """
