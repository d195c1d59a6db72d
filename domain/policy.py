"""How long sessions live and how often they are written: one value object, validated once."""

from __future__ import annotations

from datetime import timedelta

from attrs import field, frozen

from platform_sessions.domain.errors import InvalidInput


def _positive(_: object, attribute: object, value: timedelta) -> None:
    if value <= timedelta(0):
        raise InvalidInput(f"{getattr(attribute, 'name', 'duration')} must be positive")


def _at_least_one(_: object, __: object, value: int) -> None:
    if value < 1:
        raise InvalidInput("max_sessions_per_user must be at least 1")


@frozen
class SessionPolicy:
    """Timeouts and limits, enforced on every read by the use cases.

    - ``idle_timeout``: a session unseen for this long is over (sliding expiry).
    - ``absolute_lifetime``: a session is over this long after it started, however active.
    - ``touch_interval``: ``last_seen_at`` is written at most this often, so an unchanged
      request costs one read and no write; idle expiry is therefore judged to within it.
    - ``max_sessions_per_user``: starting one more ends the least recently seen.
    - ``rotate_token_on_switch``: issue a new token whenever the active platform changes.
    """

    idle_timeout: timedelta = field(default=timedelta(hours=2), validator=_positive)
    absolute_lifetime: timedelta = field(default=timedelta(days=7), validator=_positive)
    touch_interval: timedelta = field(default=timedelta(seconds=60), validator=_positive)
    max_sessions_per_user: int = field(default=20, validator=_at_least_one)
    rotate_token_on_switch: bool = False

    def __attrs_post_init__(self) -> None:
        if self.touch_interval >= self.idle_timeout:
            # Otherwise an active user could idle out between two touches.
            raise InvalidInput("touch_interval must be shorter than idle_timeout")
        if self.idle_timeout > self.absolute_lifetime:
            raise InvalidInput("idle_timeout cannot exceed absolute_lifetime")
