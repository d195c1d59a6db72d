"""RedisEventBus: the process's end of the event channels, publishing and following alike.

Use cases publish through it; event streams follow users through it. An event this process
publishes reaches its own followers at once, in the publishing thread (no wait for Redis, and
still while Redis is down), then goes to Redis for the other processes (through the background
publisher, off the request's path); its echo comes back named after this process and is
dropped, so each follower gets it exactly once.
"""

from __future__ import annotations

from platform_sessions.adapters.redis.background_publisher import BackgroundEventPublisher
from platform_sessions.adapters.redis.client import RedisClient, RedisEndpoint, RedisOptions
from platform_sessions.adapters.redis.event_origin import EventOrigin
from platform_sessions.adapters.redis.event_publisher import RedisEventPublisher
from platform_sessions.adapters.redis.event_subscriber import RedisEventSubscriber
from platform_sessions.adapters.redis.invalidation_listener import connection_factory
from platform_sessions.adapters.redis.keys import RedisKeys
from platform_sessions.domain.events import DomainEvent
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.ports import EventPublisher, EventSubscriber
from platform_sessions.domain.ports.event_subscriber import EventCallback, GapCallback, Unsubscribe


class RedisEventBus(EventPublisher, EventSubscriber):
    """Publishes through ``remote`` (the Redis publisher, with the same origin as ``subscriber``)."""

    def __init__(self, remote: EventPublisher, subscriber: RedisEventSubscriber) -> None:
        self._remote = remote
        self._subscriber = subscriber

    @property
    def remote(self) -> EventPublisher:
        """The publisher that sends to Redis."""
        return self._remote

    @property
    def subscriber(self) -> RedisEventSubscriber:
        """The process's one subscriber connection."""
        return self._subscriber

    def publish(self, event: DomainEvent) -> None:
        self._subscriber.deliver_local(event)
        self._remote.publish(event)

    def flush(self, timeout_s: float = 2.0) -> bool:
        """Wait until the events published so far left for Redis (see the background publisher)."""
        flush = getattr(self._remote, "flush", None)
        return bool(flush(timeout_s)) if flush is not None else True

    def subscribe_user(
        self, user_id: UserId, on_event: EventCallback, on_gap: GapCallback | None = None
    ) -> Unsubscribe:
        return self._subscriber.subscribe_user(user_id, on_event, on_gap)


def open_event_publisher(
    endpoint: RedisEndpoint, client: RedisClient, keys: RedisKeys, options: RedisOptions
) -> EventPublisher:
    """The publisher of a Redis storage: a :class:`RedisEventBus` on a single server.

    On a cluster, a publisher only (no subscriber is built for a cluster yet). Events leave on
    a worker thread when ``options.publish_in_background`` says so.
    """
    origin = EventOrigin()
    remote: EventPublisher = RedisEventPublisher(client, keys, origin=origin)
    if options.publish_in_background:
        remote = BackgroundEventPublisher(remote)
    if endpoint.url is None:
        return remote
    connect = connection_factory(
        endpoint.url, connect_timeout=options.connect_timeout, read_timeout=options.read_timeout
    )
    return RedisEventBus(remote, RedisEventSubscriber(connect, keys, origin))


def close_event_publisher(publisher: EventPublisher) -> None:
    """Stop what :func:`open_event_publisher` started: the subscriber, then deliver what is queued."""
    if isinstance(publisher, RedisEventBus):
        publisher.subscriber.close()
        publisher = publisher.remote
    if isinstance(publisher, BackgroundEventPublisher):
        publisher.close()
