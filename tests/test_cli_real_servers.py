"""The command line against the real Redis and PostgreSQL (two tiers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_sessions.entrypoints import bootstrap
from platform_sessions.entrypoints.cli import main

ROUTING_KEY = "cli-test-routing-key-0123456789abcdef"


def run(capsys: pytest.CaptureFixture[str], *argv: str, env: dict[str, str]) -> tuple[int, str, str]:
    status = main(list(argv), environ=env)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def servers(clean_redis_url: str, postgres_url: str) -> dict[str, str]:
    return {
        "PLATFORM_SESSIONS_REDIS_URL": clean_redis_url,
        "PLATFORM_SESSIONS_DATABASE_URL": postgres_url,
        "PLATFORM_SESSIONS_ROUTING_KEY": ROUTING_KEY,
    }


def test_every_operator_command_on_redis_and_postgresql(
    capsys: pytest.CaptureFixture[str], servers: dict[str, str]
) -> None:
    status, out, _ = run(capsys, "db", "upgrade", env=servers)
    assert status == 0, out
    with bootstrap(
        redis_url=servers["PLATFORM_SESSIONS_REDIS_URL"],
        database_url=servers["PLATFORM_SESSIONS_DATABASE_URL"],
        routing_key=ROUTING_KEY,
    ) as sessions:
        sessions.start_session("carol", user_agent="Firefox on Linux", ip_address="192.0.2.1")
        sessions.start_session("carol", user_agent="Safari on iOS", ip_address="198.51.100.7")

    status, out, _ = run(capsys, "sessions", "list", "carol", env=servers)
    assert status == 0
    assert "Firefox on Linux" in out
    assert out.rstrip().endswith("2 live sessions for user 'carol'")

    status, out, _ = run(capsys, "health", env=servers)
    assert status == 0, out
    assert "breaker" in out

    status, out, _ = run(capsys, "rewarm", env=servers)
    assert status == 0, out
    assert out.startswith("rewarm done in ")

    status, out, _ = run(capsys, "sessions", "end-all", "carol", env=servers)
    assert (status, out) == (0, "ended 2 sessions of user 'carol'\n")
    status, out, _ = run(capsys, "purge-expired", env=servers)
    assert status == 0
    assert out.startswith("purged 0 expired sessions in ")


def test_the_routing_key_comes_from_an_option_or_a_key_file(
    capsys: pytest.CaptureFixture[str], servers: dict[str, str], tmp_path: Path
) -> None:
    key_file = tmp_path / "routing-key"
    key_file.write_text(ROUTING_KEY + "\n")
    without_key = {k: v for k, v in servers.items() if k != "PLATFORM_SESSIONS_ROUTING_KEY"}
    redis_url = servers["PLATFORM_SESSIONS_REDIS_URL"]
    status, _, err = run(capsys, "--redis-url", redis_url, "sessions", "list", "carol", env={})
    assert status == 1
    assert "--routing-key-file" in err  # the refusal says how to give one
    for option in (["--routing-key-file", str(key_file)], ["--routing-key", ROUTING_KEY]):
        status, out, err = run(capsys, "--redis-url", redis_url, *option, "sessions", "list", "carol", env={})
        assert (status, out) == (0, "no live sessions for user 'carol'\n"), err
        assert err == f"storage: redis {redis_url}\n"
    status, out, _ = run(
        capsys, "health", env={**without_key, "PLATFORM_SESSIONS_ROUTING_KEY_FILE": str(key_file)}
    )
    assert status == 0, out
    assert f"store: two-tier {redis_url} + " in out


def test_an_unreachable_database_is_one_line_and_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    env = {
        "PLATFORM_SESSIONS_REDIS_URL": "",
        "PLATFORM_SESSIONS_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=1",
    }
    status, _, err = run(capsys, "sessions", "list", "carol", env=env)
    assert status == 1
    storage, error = err.splitlines()  # which store it tried, then one line for the failure
    assert storage == "storage: sql postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=1"
    assert error.startswith("platform-sessions: ")
    assert "Traceback" not in err
