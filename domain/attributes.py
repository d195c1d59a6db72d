"""The application's own small map on a session (username, role, locale set at login).

Values are JSON-safe and the whole map is capped, because it is read on every request and
copied into every store; anything bigger belongs in the application's database.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from platform_sessions.domain.errors import InvalidAttributes, InvalidInput

MAX_ATTRIBUTES_BYTES = 4096
MAX_DEPTH = 8

JsonValue = Any  # a value of the JSON data model: None, bool, int, float, str, list, dict


def check_json_safe(
    value: object, path: str, *, error: type[InvalidInput] = InvalidAttributes, depth: int = 0
) -> None:
    """Raise ``error`` unless ``value`` is of the JSON data model (finite numbers, string keys,
    at most :data:`MAX_DEPTH` levels deep: hostile nesting costs bounded work)."""
    if depth > MAX_DEPTH:
        raise error(f"{path} is nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise error(f"{path} is not a finite number")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_json_safe(item, f"{path}[{index}]", error=error, depth=depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise error(f"{path} has a key that is not a string")
            check_json_safe(item, f"{path}.{key}", error=error, depth=depth + 1)
        return
    raise error(f"{path} is a {type(value).__name__}, which JSON cannot hold")


def _plain(value: object) -> object:
    """A copy made of plain dicts and lists (read-only views and tuples included)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def checked_attributes(value: object) -> dict[str, JsonValue]:
    """Validate and return a plain-dict copy of an attributes map.

    Raises :class:`InvalidAttributes` when a key is not a string, a value is not JSON-safe,
    or the encoded map is larger than 4 KiB.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidAttributes("attributes must be a mapping of strings to JSON values")
    check_json_safe(value, "attributes")
    encoded = encode_attributes(value)
    if len(encoded.encode("utf-8")) > MAX_ATTRIBUTES_BYTES:
        raise InvalidAttributes(f"attributes exceed {MAX_ATTRIBUTES_BYTES} bytes once encoded")
    # A round trip gives an independent copy with lists instead of tuples, as stores return it.
    decoded: dict[str, JsonValue] = json.loads(encoded)
    return decoded


def encode_attributes(value: Mapping[str, JsonValue]) -> str:
    """The canonical JSON text of an attributes map, as every store keeps it."""
    return canonical_json(value)


def canonical_json(value: JsonValue) -> str:
    """The one JSON text of a JSON-safe value: sorted keys, no spaces, UTF-8 as is (so equal
    values are stored as equal text and sizes are measured the same way everywhere)."""
    return json.dumps(
        _plain(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False
    )
