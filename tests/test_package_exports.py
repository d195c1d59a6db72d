"""The package's top-level names: there, lazy, and the same objects as in their modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

import platform_sessions


def test_the_top_level_names_are_the_modules_own() -> None:
    from platform_sessions.domain.errors import SessionNotFound, StoreUnavailable
    from platform_sessions.entrypoints.bootstrap import bootstrap
    from platform_sessions.entrypoints.facade import PlatformSessions

    assert platform_sessions.bootstrap is bootstrap
    assert platform_sessions.PlatformSessions is PlatformSessions
    assert platform_sessions.SessionNotFound is SessionNotFound
    assert platform_sessions.StoreUnavailable is StoreUnavailable
    assert set(platform_sessions.__all__) >= {"bootstrap", "PlatformSessions", "SessionNotFound"}
    assert platform_sessions.__version__


def test_importing_the_package_imports_no_storage() -> None:
    script = (
        "import sys, platform_sessions\n"
        "heavy = [m for m in ('sqlalchemy', 'redis', 'alembic', 'dependency_injector') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from platform_sessions import SessionNotFound\n"
        "assert 'sqlalchemy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        platform_sessions.no_such_name  # noqa: B018
