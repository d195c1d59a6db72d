"""platform-sessions: user sessions across several connected platform accounts.

The names most applications need are here, imported on first use only (``import
platform_sessions`` costs nothing: the storages, SQLAlchemy and redis-py load when
``bootstrap`` is first touched)::

    from platform_sessions import bootstrap, PlatformSessions, SessionNotFound
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # "X as X": re-exported for type checkers, which cannot read the __all__ below
    from platform_sessions.domain.errors import (
        PlatformSessionsError as PlatformSessionsError,
        SessionExpired as SessionExpired,
        SessionNotFound as SessionNotFound,
        StoreUnavailable as StoreUnavailable,
    )
    from platform_sessions.entrypoints.bootstrap import bootstrap as bootstrap
    from platform_sessions.entrypoints.facade import PlatformSessions as PlatformSessions

    __version__: str

# name -> module that defines it
_EXPORTS = {
    "bootstrap": "platform_sessions.entrypoints.bootstrap",
    "PlatformSessions": "platform_sessions.entrypoints.facade",
    "PlatformSessionsError": "platform_sessions.domain.errors",
    "SessionNotFound": "platform_sessions.domain.errors",
    "SessionExpired": "platform_sessions.domain.errors",
    "StoreUnavailable": "platform_sessions.domain.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def _installed_version() -> str:
    # importlib.metadata costs a third of this package's import time: read on first use only.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("platform-sessions")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _installed_version()
        globals()[name] = value
        return value
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'platform_sessions' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # looked up once
    return value
