"""The coverage floor of the core: what the in-memory fakes alone prove of the domain and the
application (floor and scope in pyproject's ``[tool.coverage]``).

The fake-backed suites run once more, under coverage, in a subprocess: a few seconds, and the
rest of the test run is not traced (tracing every Redis and SQL test would slow them all).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The suites that run on the fakes only: domain values, every use case, the fakes' contracts.
FAKE_BACKED = ["tests/unit", "tests/usecases", "tests/contracts/test_memory_contracts.py"]


def test_the_fakes_cover_the_domain_and_the_application(tmp_path: Path) -> None:
    if importlib.util.find_spec("coverage") is None:
        pytest.fail(f"coverage is not installed for {sys.executable}; install the dev extras")
    data = str(tmp_path / "coverage")
    run = subprocess.run(
        [sys.executable, "-m", "coverage", "run", f"--data-file={data}", "-m", "pytest", "-q", *FAKE_BACKED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    report = subprocess.run(
        [sys.executable, "-m", "coverage", "report", f"--data-file={data}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # coverage exits 2 below fail_under; the report names the lines no fake-backed test runs.
    assert report.returncode == 0, report.stdout + report.stderr
