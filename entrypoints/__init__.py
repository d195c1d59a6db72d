"""Entry points: the composition root, and what applications and operators call.

``bootstrap(...)`` wires a :class:`PlatformSessions` facade from configuration. Both names are
imported on first use: importing this package (or the CLI, for ``--help``) loads no storage and
none of SQLAlchemy, Alembic, redis-py or dependency-injector (whose wiring imports FastAPI).
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from platform_sessions.entrypoints.bootstrap import bootstrap
    from platform_sessions.entrypoints.facade import PlatformSessions

__all__ = ["PlatformSessions", "bootstrap"]


class _EntrypointsPackage(ModuleType):
    """This package, whose ``bootstrap`` is always the function, as when it was imported eagerly.

    ``bootstrap`` is also the name of the submodule that defines it, and Python sets a package's
    attribute to each submodule it imports: a lazy module ``__getattr__`` alone would hand out
    the module once anything had imported ``platform_sessions.entrypoints.bootstrap``. A
    property wins over that assignment.
    """

    @property
    def bootstrap(self) -> Any:
        from platform_sessions.entrypoints.bootstrap import bootstrap

        return bootstrap

    @bootstrap.setter
    def bootstrap(self, _submodule: ModuleType) -> None:
        pass  # the import system registering the submodule: sys.modules has it

    @property
    def PlatformSessions(self) -> Any:  # noqa: N802 - the class's name
        from platform_sessions.entrypoints.facade import PlatformSessions

        return PlatformSessions


sys.modules[__name__].__class__ = _EntrypointsPackage
