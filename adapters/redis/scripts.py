"""The Lua scripts, loaded from ``lua/`` and registered on a client (EVALSHA, reloaded on NOSCRIPT).

Each script is its own file; the shared helpers (``lib_*.lua``) are prepended to the scripts
that use them, so the helpers have one source and every script stays self-contained on the
server. Registering computes the SHA1 only: nothing reaches Redis until the first call, and
redis-py's ``Script`` answers NOSCRIPT (a restarted or flushed server, a new cluster node) by
loading the script and calling it again, on a single server and on a cluster alike.
"""

from __future__ import annotations

import enum
from functools import cache
from importlib import resources

from redis.commands.core import Script

from platform_sessions.adapters.redis.client import RedisClient


class Library(enum.Enum):
    """Helpers shared by several scripts."""

    SESSION = "lib_session"
    PLATFORM_CACHE = "lib_platform_cache"
    MIRROR = "lib_mirror"


_USES: dict[str, tuple[Library, ...]] = {
    "resolve_session": (Library.SESSION, Library.PLATFORM_CACHE),
    "read_platforms": (Library.PLATFORM_CACHE,),
    "fill_platforms": (Library.PLATFORM_CACHE,),
    "invalidate_platforms": (Library.PLATFORM_CACHE,),
    "create_session": (Library.SESSION,),
    "update_session": (Library.SESSION,),
    "rotate_session": (Library.SESSION,),
    "touch_session": (Library.SESSION,),
    "delete_session": (Library.SESSION,),
    "delete_user_sessions": (Library.SESSION,),
    "purge_session": (Library.SESSION,),
    "prune_index": (),
    "put_session": (Library.SESSION, Library.MIRROR),
    "forget_sessions": (Library.SESSION, Library.MIRROR),
    "rotate_mirror": (Library.SESSION, Library.MIRROR),
    "write_session_data": (Library.SESSION,),
    "mirror_session_data": (Library.SESSION,),
}


def _read(name: str) -> str:
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


@cache
def script_source(name: str) -> str:
    """The full text of script ``name``: its libraries, then its own body."""
    if name not in _USES:
        raise KeyError(f"no Lua script named {name!r}")
    parts = [_read(library.value) for library in _USES[name]]
    parts.append(_read(name))
    return "\n".join(parts)


def script_names() -> tuple[str, ...]:
    """Every script this package has (for tests and for preloading)."""
    return tuple(_USES)


def register(client: RedisClient, name: str) -> Script:
    """Script ``name`` bound to ``client``; calling it runs EVALSHA."""
    script: Script = client.register_script(script_source(name))
    return script
