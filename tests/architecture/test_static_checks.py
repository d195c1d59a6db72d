"""The architecture and code rules, checked by every test run: import contracts, ruff, mypy (the
whole package strict, tests, benchmarks and examples checked; see pyproject)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed next to {sys.executable}; install the dev extras")
    return str(path)


def test_import_contracts_are_kept() -> None:
    result = _run(_tool("lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_ruff_finds_nothing() -> None:
    result = _run(_tool("ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes_strict_on_the_package_and_checks_tests_benchmarks_examples() -> None:
    result = _run(_tool("mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_imports_only_under_its_own_name() -> None:
    # Run from a neutral directory so the repository root is not on sys.path.
    probe = (
        "import importlib.util, platform_sessions.domain;"
        "print([m for m in ('domain','application','adapters','entrypoints') if importlib.util.find_spec(m)])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd="/", capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_importing_the_package_builds_nothing() -> None:
    # No engines, clients or threads at import time: the container builds them.
    probe = (
        "import threading, platform_sessions.entrypoints, platform_sessions.adapters.memory;"
        "print(threading.active_count())"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd="/", capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
