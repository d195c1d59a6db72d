"""How the engine turns JSON columns (session attributes) into text and back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from attrs import frozen

from platform_sessions.domain.attributes import encode_attributes


@frozen
class UndecodableJson:
    """Stands in for a stored JSON value that does not parse.

    Decoding happens while the driver reads a row, where an exception would lose every other
    row of the result; this marker lets the translation refuse just the one record.
    """

    text: str


def encode_json(value: Any) -> str:
    """The domain's canonical text for attribute maps (sorted, compact), plain JSON otherwise."""
    if isinstance(value, Mapping):
        return encode_attributes(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decode_json_leniently(text: str | bytes) -> Any:
    """Parse stored JSON; text that does not parse becomes :class:`UndecodableJson`."""
    try:
        return json.loads(text)
    except ValueError:
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        return UndecodableJson(raw)
