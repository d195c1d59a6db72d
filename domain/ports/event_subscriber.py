"""Where a process hears the domain events that every process publishes, one user at a time."""

from __future__ import annotations

import abc
from collections.abc import Callable

from platform_sessions.domain.events import DomainEvent
from platform_sessions.domain.ids import UserId

EventCallback = Callable[[DomainEvent], None]
GapCallback = Callable[[], None]
Unsubscribe = Callable[[], None]


class EventSubscriber(abc.ABC):
    """Delivers the events of the users someone in this process follows, from any process."""

    @abc.abstractmethod
    def subscribe_user(
        self, user_id: UserId, on_event: EventCallback, on_gap: GapCallback | None = None
    ) -> Unsubscribe:
        """Call ``on_event`` with each of ``user_id``'s events published from now on.

        Each event reaches each subscription at most once, in the order its publishing process
        sent it, including the events this process published itself. Delivery is best effort,
        like publishing: where events may have been missed (the subscriber lost its connection
        and got it back), ``on_gap`` is called once the subscription works again, so the
        follower re-reads the state instead of trusting that nothing happened. Callbacks run on
        the subscriber's thread and must not block. The returned function stops the
        subscription; it never waits for a delivery in progress (a callback may call it).
        """
