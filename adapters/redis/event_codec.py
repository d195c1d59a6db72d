"""Domain events as JSON messages for other workers and browser tabs.

Every field of the event goes out as it is (events carry public handles, never a token or an
internal id); enums become their values and datetimes ISO 8601 strings.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime

import attrs

from platform_sessions.domain.events import DomainEvent


def encode_event(event: DomainEvent) -> str:
    """``{"event": "<name>", <field>: <value>, ...}``, compact."""
    message: dict[str, object] = {"event": event.name}
    for field in attrs.fields(type(event)):
        message[field.name] = _plain(getattr(event, field.name))
    return json.dumps(message, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value
