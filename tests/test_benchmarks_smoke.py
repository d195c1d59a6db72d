"""The benchmark still runs: ``python -m benchmarks --quick`` end to end, at a tiny size.

Benchmarks are not tests (nothing here is timed or compared with a target); this only keeps
the harness from rotting as the library changes. It needs the real servers, like the other
service tests: the shared Redis and PostgreSQL, and redis-server on PATH for the private one.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from benchmarks.run import main
from tests.support.services import RedisServerFactory

pytestmark = pytest.mark.services


def test_the_quick_benchmark_writes_every_section(
    clean_redis_url: str,
    postgres_url: str,
    redis_server_factory: RedisServerFactory,  # only for its rule: skip or fail without redis-server
    tmp_path: Path,
) -> None:
    output = tmp_path / "results.md"

    status = main(
        ["--quick", "--redis-url", clean_redis_url, "--database-url", postgres_url, "--output", str(output)]
    )

    assert status == 0
    results = output.read_text(encoding="utf-8")
    for heading in ("## Targets", "## Operations", "## Scale", "## Purge", "## Concurrency", "## Peers"):
        assert heading in results
    assert "| resolve (no touch due) | " in results
    assert "| resolve of a random token | " in results
    assert "| resolve, near cache off (its round trip) | " in results
    # This library's web rows need only Flask (a dev dependency); the peers are the bench extra.
    assert "| platform-sessions two-tier: switch platform | " in results
    assert "| platform-sessions two-tier: read, near cache off | " in results
    if _installed("flask_session", "starsessions", "django"):
        assert "| Django cached_db view: modify + save | " in results
        assert "| Flask-Session (Redis): read | " in results
        assert "| starsessions (Redis): read | " in results
    if shutil.which("wrk") and _installed("gunicorn", "flask_session"):
        assert "## Throughput" in results
        assert "| gunicorn gthread | Flask-Session (Redis) | " in results


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)
