"""Nothing heavy is imported until it is used: the entry points and ``--help`` load no storage.

Each check runs in a fresh interpreter (this one has imported everything already) and looks at
``sys.modules``. What the start-up costs in time is a benchmark row (benchmarks/imports.py),
never a timed test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

# A storage's libraries, and dependency-injector, whose wiring module imports FastAPI,
# Starlette and Werkzeug when they are installed.
HEAVY = ("sqlalchemy", "alembic", "mako", "redis", "fakeredis", "psycopg", "dependency_injector")
FRAMEWORKS = ("fastapi", "starlette", "flask", "werkzeug")


def _loaded_after(code: str) -> set[str]:
    """The top-level names of the modules in ``sys.modules`` after running ``code``."""
    report = "import sys\nprint(' '.join({name.split('.')[0] for name in sys.modules}))\n"
    script = textwrap.dedent(code) + "\n" + report
    # Without the PLATFORM_SESSIONS_* settings the test run sets (a database URL is parsed,
    # by SQLAlchemy, even for a storage that does not use it).
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PLATFORM_SESSIONS_")
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=environment,
    )
    return set(result.stdout.split())


def test_importing_the_entry_points_loads_no_storage_and_no_framework() -> None:
    loaded = _loaded_after("import platform_sessions.entrypoints")

    assert not loaded & {*HEAVY, *FRAMEWORKS}, sorted(loaded & {*HEAVY, *FRAMEWORKS})


def test_help_loads_no_storage_and_no_framework() -> None:
    loaded = _loaded_after(
        """
        import contextlib, io
        from platform_sessions.entrypoints.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):
            main(["--help"])
        assert "usage: platform-sessions" in out.getvalue()
        """
    )

    assert not loaded & {*HEAVY, *FRAMEWORKS}, sorted(loaded & {*HEAVY, *FRAMEWORKS})


def test_the_memory_and_redis_storages_load_no_sql_library() -> None:
    loaded = _loaded_after(
        """
        import logging
        from platform_sessions import bootstrap
        logging.disable()  # the Redis below is unreachable on purpose: startup says so, then goes on
        bootstrap(storage="memory").close()
        bootstrap(redis_url="redis://127.0.0.1:1/0", routing_key="k" * 32).close()  # port 1: nobody
        """
    )

    assert not loaded & {"sqlalchemy", "alembic", "mako", "psycopg", "fakeredis"}


def test_bootstrap_is_the_function_even_after_its_module_was_imported() -> None:
    # The package's `bootstrap` is lazy, and is also the name of a submodule, which Python
    # sets as the package's attribute when anything imports it.
    _loaded_after(  # fails (check=True) if an assertion in the script does
        """
        import platform_sessions.entrypoints.bootstrap
        from platform_sessions.entrypoints import bootstrap, PlatformSessions
        assert callable(bootstrap) and bootstrap.__name__ == "bootstrap", bootstrap
        assert PlatformSessions.__name__ == "PlatformSessions"
        """
    )


def test_the_settings_default_table_prefix_is_the_sql_adapters() -> None:
    from platform_sessions.adapters.sqlalchemy.tables import DEFAULT_TABLE_PREFIX as ADAPTERS
    from platform_sessions.entrypoints.settings import DEFAULT_TABLE_PREFIX

    assert DEFAULT_TABLE_PREFIX == ADAPTERS
