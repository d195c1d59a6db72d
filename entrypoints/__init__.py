"""Entry points: the composition root, and what applications and operators call.

``bootstrap(...)`` wires a :class:`PlatformSessions` facade from configuration.
"""

from platform_sessions.entrypoints.bootstrap import bootstrap
from platform_sessions.entrypoints.facade import PlatformSessions

__all__ = ["PlatformSessions", "bootstrap"]
