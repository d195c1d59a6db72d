"""Completeness markers: one key per Redis Cluster hash slot, findable from a session's slot.

A marker says "every live session of this slot is in Redis", so a miss there is authoritative.
It must live in the session's own slot, so the resolve script can declare it and read it in the
same round trip (one script, one node); a routing tag names ~2^40 possible tags, far too many to
mark, but only 16384 slots exist. So for each slot we pick a short hash tag that hashes to it
(``c<n>``, the smallest ``n`` that does), computed once per process, lazily (about 50 ms).
A single server has the same 16384 markers: one layout for both.
"""

from __future__ import annotations

import threading

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from platform_sessions.domain.token import RoutingTag

_lock = threading.Lock()
_table: list[str] = []


def slot_of(tag: RoutingTag) -> int:
    """The hash slot of every key carrying ``{<tag>}``."""
    return int(key_slot(tag.value.encode("ascii")))


def slot_tags() -> list[str]:
    """For every slot, in slot order, a hash tag that lands in it."""
    with _lock:
        if not _table:
            found: dict[int, str] = {}
            n = 0
            while len(found) < REDIS_CLUSTER_HASH_SLOTS:  # bounded: every slot is hit by ~120k tries
                candidate = f"c{n}"
                found.setdefault(int(key_slot(candidate.encode("ascii"))), candidate)
                n += 1
            _table.extend(found[slot] for slot in range(REDIS_CLUSTER_HASH_SLOTS))
        return _table


def slot_tag_for(tag: RoutingTag) -> str:
    """The hash tag of the marker that shares ``tag``'s slot."""
    return slot_tags()[slot_of(tag)]
