"""The ``platform-sessions`` command line, on the default store (the SQLite file
``platform-sessions.sqlite3`` in the working directory) and on a SQLite file where given."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from platform_sessions.entrypoints import bootstrap
from platform_sessions.entrypoints.cli import main, masked

COMMAND = [sys.executable, "-m", "platform_sessions.entrypoints.cli"]
NO_STORAGE_ENV = {"PLATFORM_SESSIONS_REDIS_URL": "", "PLATFORM_SESSIONS_DATABASE_URL": ""}


def run(
    capsys: pytest.CaptureFixture[str], *argv: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    status = main(list(argv), environ={**NO_STORAGE_ENV, **(env or {})})
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status: int, err: str) -> None:
    # One error line, after at most the line saying which store the command opened.
    assert status == 1
    lines = err.splitlines()
    assert 1 <= len(lines) <= 2, err
    assert lines[-1].startswith("platform-sessions: "), err
    assert all(line.startswith("storage: ") for line in lines[:-1]), err
    assert "Traceback" not in err


@pytest.fixture
def default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the default store, as an application's bootstrap() left it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLATFORM_SESSIONS_DATABASE_URL", raising=False)
    monkeypatch.delenv("PLATFORM_SESSIONS_ROUTING_KEY", raising=False)
    bootstrap().close()
    return tmp_path / "platform-sessions.sqlite3"


@pytest.fixture
def empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_walkthrough_prints_the_lifecycle(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "walkthrough")
    assert status == 0
    assert "event: PlatformSwitched" in out
    assert out.rstrip().endswith("calls.")


def test_sessions_list_and_end_all_on_the_empty_default_store(
    capsys: pytest.CaptureFixture[str], default_store: Path
) -> None:
    said = f"storage: sql sqlite:///{default_store}\n"  # which store, on stderr
    assert run(capsys, "sessions", "list", "alice") == (0, "no live sessions for user 'alice'\n", said)
    assert run(capsys, "sessions", "end-all", "alice") == (0, "ended 0 sessions of user 'alice'\n", said)


@pytest.mark.parametrize(
    "argv",
    [
        ("sessions", "list", "alice"),
        ("sessions", "end-all", "alice"),
        ("purge-expired",),
        ("rewarm",),
        ("health",),
    ],
)
def test_an_operator_command_in_an_empty_directory_says_no_store_and_creates_none(
    capsys: pytest.CaptureFixture[str], empty_directory: Path, argv: tuple[str, ...]
) -> None:
    status, out, err = run(capsys, *argv)
    assert_one_line_error(status, err)
    assert "no store configured" in err
    assert out == ""
    assert list(empty_directory.iterdir()) == []


def test_an_operator_command_does_not_create_a_sqlite_file_it_is_pointed_at(
    capsys: pytest.CaptureFixture[str], empty_directory: Path
) -> None:
    status, _, err = run(capsys, "--database-url", "sqlite:///typo.db", "sessions", "end-all", "alice")
    assert_one_line_error(status, err)
    assert f"no SQLite database at {empty_directory / 'typo.db'}" in err
    assert list(empty_directory.iterdir()) == []


def test_purge_expired_prints_a_summary(capsys: pytest.CaptureFixture[str], default_store: Path) -> None:
    status, out, err = run(capsys, "purge-expired", "--batch-size", "50")
    assert status == 0
    assert out.startswith("purged 0 expired sessions in ")
    assert out.rstrip().endswith("(batches of 50)")
    assert err == f"storage: sql sqlite:///{default_store}\n"  # the progress bar draws only on a terminal


def test_bad_arguments_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["purge-expired", "--batch-size", "0"])
    assert exit_info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_an_invalid_user_id_is_one_line(capsys: pytest.CaptureFixture[str], default_store: Path) -> None:
    status, _, err = run(capsys, "sessions", "list", "")
    assert_one_line_error(status, err)
    assert "InvalidInput" in err


def test_health_on_the_default_store_names_it_and_is_healthy(
    capsys: pytest.CaptureFixture[str], default_store: Path
) -> None:
    status, out, _ = run(capsys, "health")
    assert status == 0, out
    assert "healthy: True" in out
    assert f"store: sql sqlite:///{default_store}" in out


def test_rewarm_answers_clearly_on_a_storage_without_redis(
    capsys: pytest.CaptureFixture[str], default_store: Path
) -> None:
    status, _, err = run(capsys, "rewarm")
    assert_one_line_error(status, err)
    assert "two-tier storage" in err


def test_health_of_an_unmigrated_sqlite_file_is_a_failure_naming_the_schema(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a database file without the tables
    status, out, _ = run(capsys, "--database-url", f"sqlite:///{empty}", "health")
    assert status == 1
    assert "healthy: False" in out
    assert "problem: StoreUnavailable:" in out
    assert "tables are missing" in out
    with sqlite3.connect(empty) as connection:  # health did not migrate it
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == []


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("PLATFORM_SESSIONS_REDIS_URL", "redis://127.0.0.1:notaport/0", "not a Redis URL"),
        ("PLATFORM_SESSIONS_REDIS_URL", "127.0.0.1:6379", "not a Redis URL"),
        ("PLATFORM_SESSIONS_DATABASE_URL", "not a url", "not a SQLAlchemy database URL"),
        ("PLATFORM_SESSIONS_REDIS_CLUSTER_NODES", "10.0.0.1", "not a list of host:port pairs"),
        ("PLATFORM_SESSIONS_ROUTING_KEY", "short", "at least 16 bytes"),
        ("PLATFORM_SESSIONS_ROUTING_KEY_FILE", "/nonexistent/key", "cannot read the routing key file"),
        ("PLATFORM_SESSIONS_TABLE_PREFIX", "Bad-Prefix", "a table prefix is"),
    ],
)
def test_a_malformed_setting_is_reported_as_such_naming_its_variable(
    capsys: pytest.CaptureFixture[str], empty_directory: Path, variable: str, value: str, said: str
) -> None:
    status, _, err = run(capsys, "health", env={variable: value})
    assert_one_line_error(status, err)
    assert f"InvalidSetting: {variable}" in err
    assert said in err
    assert "routing key:" not in err  # never reported as the missing key


@pytest.mark.parametrize(
    ("option", "value"),
    [("--redis-url", "redis://127.0.0.1:notaport/0"), ("--database-url", "not a url")],
)
def test_a_malformed_url_option_is_reported_as_a_malformed_url_naming_the_option(
    capsys: pytest.CaptureFixture[str], empty_directory: Path, option: str, value: str
) -> None:
    status, _, err = run(capsys, option, value, "sessions", "list", "alice")
    assert_one_line_error(status, err)
    assert f"InvalidSetting: {option}: not a " in err
    assert "routing key" not in err


def test_the_store_is_named_without_its_password(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://app:s3cret@127.0.0.1:9/none?connect_timeout=1"
    status, _, err = run(capsys, "--database-url", url, "sessions", "list", "alice")
    assert_one_line_error(status, err)
    assert err.startswith("storage: sql postgresql+psycopg://app:***@127.0.0.1:9/none")
    assert "s3cret" not in err


@pytest.mark.parametrize("source", ["option", "environment"])
def test_a_redis_url_is_passed_on_or_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], source: str
) -> None:
    url = "redis://127.0.0.1:9/0"  # nothing listens there
    if source == "option":
        status, _, err = run(capsys, "sessions", "list", "alice", "--redis-url", url)
    else:
        status, _, err = run(capsys, "sessions", "list", "alice", env={"PLATFORM_SESSIONS_REDIS_URL": url})
    assert_one_line_error(status, err)


def test_an_unusable_database_url_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "--database-url", "nosuchdriver://x/y", "sessions", "list", "alice")
    assert_one_line_error(status, err)


def test_db_upgrade_needs_a_database_url(capsys: pytest.CaptureFixture[str], empty_directory: Path) -> None:
    status, _, err = run(capsys, "db", "upgrade")
    assert_one_line_error(status, err)
    assert "--database-url" in err


def test_the_commands_work_on_a_sqlite_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    status, out, _ = run(capsys, "db", "upgrade", "--database-url", url)
    assert status == 0
    assert "is at the current schema" in out
    with bootstrap(database_url=url) as sessions:
        sessions.start_session("alice", user_agent="Firefox on Linux", ip_address="192.0.2.1")
        sessions.start_session("alice", user_agent="Safari on iOS", ip_address="198.51.100.7")
    status, out, _ = run(capsys, "sessions", "list", "alice", env={"PLATFORM_SESSIONS_DATABASE_URL": url})
    assert status == 0
    assert "Firefox on Linux" in out
    assert "198.51.100.7" in out
    assert out.rstrip().endswith("2 live sessions for user 'alice'")
    assert (
        run(capsys, "--database-url", url, "sessions", "end-all", "alice")[1]
        == "ended 2 sessions of user 'alice'\n"
    )
    assert (
        run(capsys, "--database-url", url, "sessions", "list", "alice")[1]
        == "no live sessions for user 'alice'\n"
    )
    assert run(capsys, "--database-url", url, "purge-expired")[0] == 0


def test_urls_are_printed_without_their_password() -> None:
    assert (
        masked("postgresql+psycopg://app:s3cret@db.example:5432/app")
        == "postgresql+psycopg://app:***@db.example:5432/app"
    )
    assert masked("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def _start_demo(port: int, directory: Path) -> subprocess.Popen[str]:
    # The default store is a SQLite file in the working directory: a temporary one.
    # SIGINT as a terminal's Ctrl-C finds it: a test run started as a shell's background job
    # inherits SIGINT ignored and would pass that on, and Python then never raises
    # KeyboardInterrupt. A handled signal is reset to the default across exec.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(
            [*COMMAND, "demo", "--port", str(port), "--no-browser"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **NO_STORAGE_ENV},
            cwd=directory,
        )
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate(timeout=10)


def test_demo_serves_the_web_app_prints_the_passwords_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process = _start_demo(0, tmp_path)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # bounded: the process prints it before serving
        assert first.startswith("platform-sessions demo: open http://127.0.0.1:")
        url = first.split("open ", 1)[1].split(" ", 1)[0]
        lines = [process.stdout.readline() for _ in range(5)]
        assert any(line.strip().startswith("alice") and "password: " in line for line in lines)
        with urllib.request.urlopen(url + "login", timeout=5) as response:
            assert response.status == 200
            assert b'action="/login"' in response.read()
    finally:
        out, err = _stop(process)
    assert process.returncode == 0, err
    assert "Stopped." in out
    assert "Traceback" not in err


def test_demo_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        process = _start_demo(busy.getsockname()[1], tmp_path)
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        _, err = _stop(process)
    assert process.returncode == 1
    assert err.strip().startswith("platform-sessions: cannot serve on 127.0.0.1:")
    assert err.count("\n") == 1
    assert "--port" in err
