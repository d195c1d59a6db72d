"""Domain events as JSON messages for other workers and browser tabs, and back.

Every field of the event goes out as it is (events carry public handles, never a token or an
internal id); enums become their values and datetimes ISO 8601 strings. A message also names
its ``origin``, the publishing process, so that a process can drop the echo of its own events
(it delivered them to its own listeners already, without waiting for Redis).

Decoding is strict: a message that is not a JSON object, names an unknown event, lacks a field,
carries one of the wrong type or is larger than :data:`MAX_MESSAGE_BYTES` raises
:class:`UndecodableEvent`; a subscriber drops and counts it.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any

import attrs

from platform_sessions.domain import events
from platform_sessions.domain.events import DomainEvent

ORIGIN_FIELD = "origin"
EVENT_FIELD = "event"
# The largest event is a few hundred bytes; anything far bigger is not ours.
MAX_MESSAGE_BYTES = 16 * 1024


class UndecodableEvent(ValueError):
    """A pub/sub message that is not an event this version knows."""


def encode_event(event: DomainEvent, origin: str | None = None) -> str:
    """``{"event": "<name>", <field>: <value>, ..., "origin": ...}``, compact."""
    message: dict[str, object] = {EVENT_FIELD: event.name}
    for field in attrs.fields(type(event)):
        message[field.name] = _plain(getattr(event, field.name))
    if origin is not None:
        message[ORIGIN_FIELD] = origin
    return json.dumps(message, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def decode_event(message: bytes | str) -> tuple[DomainEvent, str | None]:
    """The event in ``message`` and the origin it names (``None`` if none)."""
    if len(message) > MAX_MESSAGE_BYTES:
        raise UndecodableEvent(f"a message of {len(message)} bytes is too large to be an event")
    try:
        document = json.loads(message)
    except (ValueError, UnicodeDecodeError) as error:
        raise UndecodableEvent(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise UndecodableEvent("not a JSON object")
    name = document.get(EVENT_FIELD)
    event_type = _event_types().get(name) if isinstance(name, str) else None
    if event_type is None:
        raise UndecodableEvent(f"unknown event {name!r}"[:200])
    origin = document.get(ORIGIN_FIELD)
    if origin is not None and not isinstance(origin, str):
        raise UndecodableEvent("the origin is not a string")
    values: dict[str, Any] = {}
    for field_name, field_type in _field_types(event_type.__name__).items():
        if field_name not in document:
            raise UndecodableEvent(f"{name} lacks {field_name}")
        values[field_name] = _typed(document[field_name], field_type, f"{name}.{field_name}")
    try:
        return event_type(**values), origin
    except (TypeError, ValueError) as error:
        raise UndecodableEvent(f"{name}: {error}") from None


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@cache
def _event_types() -> dict[str, type[DomainEvent]]:
    found = {}
    for value in vars(events).values():
        if isinstance(value, type) and issubclass(value, DomainEvent) and value is not DomainEvent:
            found[value.__name__] = value
    return found


@cache
def _field_types(name: str) -> dict[str, object]:
    event_type = _event_types()[name]
    hints = typing.get_type_hints(event_type)
    return {field.name: hints[field.name] for field in attrs.fields(event_type)}


def _typed(value: object, wanted: object, where: str) -> object:
    """``value`` as ``wanted`` (a plain type, an enum, a datetime, or ``X | None``)."""
    if isinstance(wanted, types.UnionType) or typing.get_origin(wanted) is typing.Union:
        options = typing.get_args(wanted)
        if value is None and type(None) in options:
            return None
        (inner,) = [option for option in options if option is not type(None)]
        return _typed(value, inner, where)
    if wanted is datetime:
        if not isinstance(value, str):
            raise UndecodableEvent(f"{where} is not a timestamp")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise UndecodableEvent(f"{where} is not a timestamp") from None
        if moment.tzinfo is None:
            raise UndecodableEvent(f"{where} has no time zone")
        return moment
    if isinstance(wanted, type) and issubclass(wanted, enum.Enum):
        try:
            return wanted(value)
        except ValueError:
            raise UndecodableEvent(f"{where} is not a known value") from None
    if wanted is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UndecodableEvent(f"{where} is not an integer")
        return value
    if wanted is str:
        if not isinstance(value, str):
            raise UndecodableEvent(f"{where} is not a string")
        return value
    raise UndecodableEvent(f"{where} has a type this decoder does not know")
