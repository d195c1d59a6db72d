"""The session policy from the environment: ``PLATFORM_SESSIONS_IDLE_TIMEOUT=2h`` and the like.

One variable per :class:`SessionPolicy` field, named after it; an unset (or empty) variable
keeps the field's default. Durations are a whole number with an optional unit, ``s`` (the
default), ``m``, ``h`` or ``d``: ``90``, ``30m``, ``7d``. Sizes and counts are whole numbers
(bytes for sizes), booleans ``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``).
A value that does not parse, or a policy the values make impossible (a touch interval longer
than the idle timeout, say), is an :class:`InvalidSetting` naming the variables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta

from platform_sessions.domain.errors import InvalidInput, InvalidSetting
from platform_sessions.domain.policy import SessionPolicy

ENV_PREFIX = "PLATFORM_SESSIONS_"
# Far beyond any policy (about 27 years), and small enough that no text costs more than a
# short regular expression to refuse (timedelta itself overflows near 2.7 million years).
MAX_DURATION = timedelta(days=10_000)
MAX_NUMBER = 2**31 - 1
_DURATION = re.compile(r"(\d{1,12})\s*([smhd]?)", re.IGNORECASE | re.ASCII)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parsed_duration(text: str, setting: str) -> timedelta:
    """``"90"``, ``"30m"``, ``"2h"``, ``"7d"`` as a positive duration; else :class:`InvalidSetting`."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise InvalidSetting(setting, f"not a duration (a whole number with s, m, h or d): {text[:40]!r}")
    seconds = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if not 0 < seconds <= MAX_DURATION.total_seconds():
        raise InvalidSetting(setting, f"must be positive and at most {MAX_DURATION.days} days: {text!r}")
    return timedelta(seconds=seconds)


def parsed_count(text: str, setting: str) -> int:
    """A whole number of at least 1; else :class:`InvalidSetting`."""
    digits = text.strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) > len(str(MAX_NUMBER)):
        raise InvalidSetting(setting, f"not a whole number: {text[:40]!r}")
    number = int(digits)
    if not 1 <= number <= MAX_NUMBER:
        raise InvalidSetting(setting, f"must be between 1 and {MAX_NUMBER}: {text!r}")
    return number


def parsed_flag(text: str, setting: str) -> bool:
    """``true``/``false`` (``1``/``0``, ``yes``/``no``, ``on``/``off``); else :class:`InvalidSetting`."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise InvalidSetting(setting, f"not true or false: {text[:40]!r}")


# Every SessionPolicy field, and how its variable's text becomes the field's value.
POLICY_FIELDS: Mapping[str, Callable[[str, str], object]] = {
    "idle_timeout": parsed_duration,
    "absolute_lifetime": parsed_duration,
    "touch_interval": parsed_duration,
    "max_sessions_per_user": parsed_count,
    "rotate_token_on_switch": parsed_flag,
    "anonymous_idle_timeout": parsed_duration,
    "anonymous_lifetime": parsed_duration,
    "max_data_bytes": parsed_count,
    "max_data_value_bytes": parsed_count,
}


def policy_variable(field_name: str) -> str:
    """The variable of a policy field: ``idle_timeout`` is ``PLATFORM_SESSIONS_IDLE_TIMEOUT``."""
    return ENV_PREFIX + field_name.upper()


def policy_from_environment(env: Mapping[str, str]) -> SessionPolicy | None:
    """The policy the variables give (defaults for the fields they leave unset), or ``None``
    when none is set (the caller's default applies)."""
    values: dict[str, object] = {}
    for name, parse in POLICY_FIELDS.items():
        variable = policy_variable(name)
        text = env.get(variable, "").strip()
        if text:
            values[name] = parse(text, variable)
    if not values:
        return None
    try:
        return SessionPolicy(**values)  # type: ignore[arg-type]  # each parser gives its field's type
    except InvalidInput as error:
        given = ", ".join(policy_variable(name) for name in values)
        raise InvalidSetting(given, str(error)) from None
