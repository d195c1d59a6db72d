"""The application's own mutable data on a session (what ``flask.session`` and Starlette's
``request.session`` show), and the per-key changes that write it.

Unlike ``attributes`` (set at login, read-only), session data changes during the session, one
key at a time: a store writes only the keys a change names, so two requests writing different
keys both keep their write. Values are JSON (stored as their canonical JSON text, never
pickled); sizes are measured on that text, the same way in every store:

- a value's size is the UTF-8 length of its canonical JSON;
- the data's size is the sum, over its keys, of the key's UTF-8 length and its value's size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from attrs import field, frozen

from platform_sessions.domain.attributes import JsonValue, canonical_json, check_json_safe
from platform_sessions.domain.errors import InvalidSessionData, SessionDataTooLarge
from platform_sessions.domain.policy import MAX_DATA_BYTES, MAX_DATA_VALUE_BYTES

MAX_KEY_LENGTH = 256


def checked_key(key: object) -> str:
    """``key`` if it is a non-empty printable string of at most 256 characters.

    Printable keeps NUL and line breaks out of hash fields, SQL text columns and log lines.
    """
    if not isinstance(key, str) or not key:
        raise InvalidSessionData("a session data key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidSessionData(f"a session data key is longer than {MAX_KEY_LENGTH} characters")
    if not key.isprintable():
        raise InvalidSessionData("a session data key contains unprintable characters")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidSessionData("a session data key is not valid Unicode text") from None
    return key


def encode_value(key: str, value: object, *, max_value_bytes: int) -> str:
    """The canonical JSON text of one value, checked: JSON-safe and at most ``max_value_bytes``.

    Raises :class:`InvalidSessionData` or :class:`SessionDataTooLarge`.
    """
    check_json_safe(value, f"session data {key!r}", error=InvalidSessionData)
    try:
        encoded = canonical_json(value)
        size = len(encoded.encode("utf-8"))
    except UnicodeEncodeError:
        # A lone surrogate in a string: no store could keep it as text.
        raise InvalidSessionData(f"session data {key!r} is not valid Unicode text") from None
    if size > max_value_bytes:
        raise SessionDataTooLarge(
            f"session data {key!r} is {size} bytes once encoded, more than {max_value_bytes}"
        )
    return encoded


def decode_value(encoded: str) -> JsonValue:
    """A value from its stored canonical JSON text (raises ``ValueError`` if it is not JSON)."""
    return json.loads(encoded)


def entry_size(key: str, encoded_value: str) -> int:
    """What one key counts towards the data's size (see the module docstring)."""
    return len(key.encode("utf-8")) + len(encoded_value.encode("utf-8"))


def data_size(data: Mapping[str, JsonValue]) -> int:
    """The size of a whole data map (see the module docstring)."""
    return sum(entry_size(key, canonical_json(value)) for key, value in data.items())


def checked_data(
    data: Mapping[str, JsonValue] | None,
    *,
    max_bytes: int = MAX_DATA_BYTES,
    max_value_bytes: int = MAX_DATA_VALUE_BYTES,
) -> dict[str, JsonValue]:
    """Validate a whole data map and return a plain copy (values as stores return them)."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise InvalidSessionData("session data must be a mapping of strings to JSON values")
    encoded = {
        checked_key(key): encode_value(key, value, max_value_bytes=max_value_bytes)
        for key, value in data.items()
    }
    size = sum(entry_size(key, value) for key, value in encoded.items())
    if size > max_bytes:
        raise SessionDataTooLarge(f"session data is {size} bytes once encoded, more than {max_bytes}")
    return {key: decode_value(value) for key, value in encoded.items()}


def _checked_set(value: object) -> Mapping[str, JsonValue]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise InvalidSessionData("the keys to set must be a mapping of strings to JSON values")
    for key in value:
        checked_key(key)
    return MappingProxyType(dict(value))


def _checked_delete(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        # A bare string would otherwise delete its characters one by one.
        raise InvalidSessionData("the keys to delete must be a collection of strings")
    return frozenset(checked_key(key) for key in value)


@frozen
class SessionDataChanges:
    """One write of session data: the keys to set (to these values) and the keys to delete.

    Every other key stays as stored. Validated at construction: keys are non-empty printable
    strings of at most 256 characters, values JSON-safe and each at most ``max_value_bytes``
    once encoded (the policy's ``max_data_value_bytes``; build with :meth:`for_policy`), and no
    key is both set and deleted. ``encoded`` holds the values' canonical JSON text, what stores
    write.
    """

    set: Mapping[str, JsonValue] = field(factory=dict, converter=_checked_set)
    delete: frozenset[str] = field(factory=frozenset, converter=_checked_delete)
    max_value_bytes: int = field(default=MAX_DATA_VALUE_BYTES, kw_only=True)
    encoded: Mapping[str, str] = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        both = self.delete & self.set.keys()
        if both:
            raise InvalidSessionData(f"session data keys both set and deleted: {sorted(both)!r}")
        encoded = {
            key: encode_value(key, value, max_value_bytes=self.max_value_bytes)
            for key, value in self.set.items()
        }
        # Values as stores will return them (tuples become lists), so what a store computes
        # from ``set`` equals what it reads back.
        object.__setattr__(self, "set", MappingProxyType({k: decode_value(v) for k, v in encoded.items()}))
        object.__setattr__(self, "encoded", MappingProxyType(encoded))

    @classmethod
    def for_policy(
        cls,
        max_value_bytes: int,
        *,
        set: Mapping[str, JsonValue] | None = None,
        delete: Iterable[str] = (),
    ) -> SessionDataChanges:
        """The changes, checked against a policy's ``max_data_value_bytes``."""
        return cls(set or {}, frozenset(delete), max_value_bytes=max_value_bytes)

    @property
    def is_empty(self) -> bool:
        """Whether the change would write nothing (an unchanged request writes nothing)."""
        return not self.set and not self.delete

    @property
    def keys(self) -> frozenset[str]:
        """Every key the change names."""
        return self.delete | self.set.keys()

    def applied_to(self, data: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
        """``data`` after this change: set keys take their new value, deleted keys go."""
        merged = {key: value for key, value in data.items() if key not in self.delete}
        merged.update(self.set)
        return merged

    def is_reflected_in(self, data: Mapping[str, JsonValue]) -> bool:
        """Whether ``data`` already shows this change (every set key at its value, every
        deleted key absent): how a caller tells whether a write whose outcome was lost landed."""
        return all(key not in data for key in self.delete) and all(
            key in data and canonical_json(data[key]) == encoded for key, encoded in self.encoded.items()
        )
