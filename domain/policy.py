"""How long sessions live and how often they are written: one value object, validated once."""

from __future__ import annotations

from datetime import timedelta

from attrs import Factory, field, frozen

from platform_sessions.domain.errors import InvalidInput

ANONYMOUS_IDLE_TIMEOUT = timedelta(hours=1)
ANONYMOUS_LIFETIME = timedelta(days=1)
MAX_DATA_BYTES = 64 * 1024
MAX_DATA_VALUE_BYTES = 16 * 1024


def _positive(_: object, attribute: object, value: timedelta) -> None:
    if value <= timedelta(0):
        raise InvalidInput(f"{getattr(attribute, 'name', 'duration')} must be positive")


def _at_least_one(_: object, attribute: object, value: int) -> None:
    if value < 1:
        raise InvalidInput(f"{getattr(attribute, 'name', 'limit')} must be at least 1")


def _default_anonymous_idle_timeout(policy: SessionPolicy) -> timedelta:
    # The shorter default, unless the policy's own timeouts make it impossible (a policy whose
    # touch interval is an hour or more keeps its idle timeout for visitors too).
    shorter = min(ANONYMOUS_IDLE_TIMEOUT, policy.idle_timeout)
    return shorter if shorter > policy.touch_interval else policy.idle_timeout


def _default_anonymous_lifetime(policy: SessionPolicy) -> timedelta:
    return max(min(ANONYMOUS_LIFETIME, policy.absolute_lifetime), policy.anonymous_idle_timeout)


@frozen
class SessionPolicy:
    """Timeouts and limits, enforced on every read by the use cases.

    - ``idle_timeout``: a session unseen for this long is over (sliding expiry).
    - ``absolute_lifetime``: a session is over this long after it started, however active.
    - ``touch_interval``: ``last_seen_at`` is written at most this often, so an unchanged
      request costs one read and no write; idle expiry is therefore judged to within it.
    - ``max_sessions_per_user``: starting one more ends the least recently seen.
    - ``rotate_token_on_switch``: issue a new token whenever the active platform changes.
    - ``anonymous_idle_timeout`` and ``anonymous_lifetime``: the same two deadlines for
      anonymous (visitor) sessions, shorter by default (1 hour, 1 day; never shorter than the
      touch interval allows).
    - ``max_data_bytes`` and ``max_data_value_bytes``: the size limits of a session's data
      (all of it, and one value), measured as :mod:`platform_sessions.domain.session_data` says.
    """

    idle_timeout: timedelta = field(default=timedelta(hours=2), validator=_positive)
    absolute_lifetime: timedelta = field(default=timedelta(days=7), validator=_positive)
    touch_interval: timedelta = field(default=timedelta(seconds=60), validator=_positive)
    max_sessions_per_user: int = field(default=20, validator=_at_least_one)
    rotate_token_on_switch: bool = False
    anonymous_idle_timeout: timedelta = field(
        default=Factory(_default_anonymous_idle_timeout, takes_self=True), validator=_positive
    )
    anonymous_lifetime: timedelta = field(
        default=Factory(_default_anonymous_lifetime, takes_self=True), validator=_positive
    )
    max_data_bytes: int = field(default=MAX_DATA_BYTES, validator=_at_least_one)
    max_data_value_bytes: int = field(default=MAX_DATA_VALUE_BYTES, validator=_at_least_one)

    def __attrs_post_init__(self) -> None:
        if self.touch_interval >= self.idle_timeout:
            # Otherwise an active user could idle out between two touches.
            raise InvalidInput("touch_interval must be shorter than idle_timeout")
        if self.idle_timeout > self.absolute_lifetime:
            raise InvalidInput("idle_timeout cannot exceed absolute_lifetime")
        if self.touch_interval >= self.anonymous_idle_timeout:
            raise InvalidInput("touch_interval must be shorter than anonymous_idle_timeout")
        if self.anonymous_idle_timeout > self.anonymous_lifetime:
            raise InvalidInput("anonymous_idle_timeout cannot exceed anonymous_lifetime")
        if self.max_data_value_bytes > self.max_data_bytes:
            raise InvalidInput("max_data_value_bytes cannot exceed max_data_bytes")
