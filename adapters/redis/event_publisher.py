"""RedisEventPublisher: domain events as JSON on the user's own (sharded) pub/sub channel."""

from __future__ import annotations

import logging
import threading

from redis.exceptions import RedisClusterException, RedisError, ResponseError

from platform_sessions.adapters.redis.client import RedisClient
from platform_sessions.adapters.redis.event_codec import encode_event
from platform_sessions.adapters.redis.event_origin import EventOrigin
from platform_sessions.adapters.redis.keys import RedisKeys
from platform_sessions.domain.events import DomainEvent
from platform_sessions.domain.ids import UserId
from platform_sessions.domain.ports import EventPublisher

logger = logging.getLogger(__name__)


class RedisEventPublisher(EventPublisher):
    """Publishes each event on ``<prefix>{<tag>}:e:<user label>``.

    - The channel is named after the user's routing tag and label, never the user id, and its
      hash tag puts it in the user's slot: ``SPUBLISH`` (sharded pub/sub, Redis 7+) sends it
      to the one node that owns the slot instead of broadcasting it across the whole cluster.
      Where the server does not know ``SPUBLISH`` (Redis 6) it falls back to ``PUBLISH``, once
      and for good. ``sharded`` forces one or the other.
    - Best effort, as the port says: a failure is logged, never raised into the use case whose
      change is already stored.
    - With an ``origin``, each message names the publishing process, so that its own
      subscriber can drop the echo (see ``RedisEventBus``).
    """

    def __init__(
        self,
        client: RedisClient,
        keys: RedisKeys,
        *,
        sharded: bool | None = None,
        origin: EventOrigin | None = None,
    ) -> None:
        self._client = client
        self._keys = keys
        self._sharded = sharded
        self._origin = origin
        self._lock = threading.Lock()

    def channel_for(self, user_id: UserId) -> str:
        """The channel to subscribe to (``SSUBSCRIBE``, or ``SUBSCRIBE`` without sharding)."""
        return self._keys.events_channel(user_id)

    @property
    def sharded(self) -> bool | None:
        """Whether events go out with ``SPUBLISH``; ``None`` until the first publish decided."""
        return self._sharded

    def publish(self, event: DomainEvent) -> None:
        try:
            origin = self._origin.current() if self._origin is not None else None
            self._send(self.channel_for(event.user_id), encode_event(event, origin))
        except (RedisError, RedisClusterException, OSError) as error:
            logger.warning("could not publish %s: %s: %s", event.name, type(error).__name__, error)

    def _send(self, channel: str, message: str) -> None:
        if self._sharded is False:
            self._client.publish(channel, message)
            return
        try:
            self._client.spublish(channel, message)
        except ResponseError as error:
            if self._sharded is not None or "unknown command" not in str(error).lower():
                raise
            with self._lock:
                self._sharded = False
            logger.info("this Redis has no SPUBLISH; events go out with PUBLISH")
            self._client.publish(channel, message)
            return
        if self._sharded is None:
            with self._lock:
                self._sharded = True
