"""Plain ``bootstrap()`` is right under several OS processes: the SQL storage on the SQLite
file in the working directory, the one truth every worker and the CLI share.

Each worker is its own Python process (as under ``gunicorn -w N`` or ``uvicorn --workers N``)
with its own ``bootstrap()``, driven one request at a time over a pipe. The old default (a
fakeredis per process in front of the shared file) failed every check here: a logout in one
worker was still accepted by another, a login in one was refused by another, and the CLI's
``sessions end-all`` reported success while the workers went on serving the session.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "platform_sessions.entrypoints.cli"]
REPLY_TIMEOUT_S = 30.0
WORKER = """
import sys
from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.entrypoints import bootstrap

storage = sys.argv[1] if len(sys.argv) > 1 else None
sessions = bootstrap(storage=storage) if storage else bootstrap()
print("ready", sessions.health().store, flush=True)
for line in sys.stdin:
    verb, argument = line.split()
    if verb == "login":
        print(sessions.start_session(argument).token.value, flush=True)
    elif verb == "request":
        try:
            sessions.resolve(argument)
            print("200", flush=True)
        except SessionNotFound:
            print("401", flush=True)
    elif verb == "logout":
        print(sessions.end_session(argument), flush=True)
"""


class Worker:
    """One OS process running ``bootstrap()``; ``ask`` sends a command and waits for its reply."""

    def __init__(self, directory: Path, env: dict[str, str], *argv: str) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", WORKER, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=directory,
            env=env,
        )
        self.store = self._reply().removeprefix("ready ")

    def ask(self, verb: str, argument: str) -> str:
        assert self._process.stdin is not None
        self._process.stdin.write(f"{verb} {argument}\n")
        self._process.stdin.flush()
        return self._reply()

    def _reply(self) -> str:
        assert self._process.stdout is not None
        readable, _, _ = select.select([self._process.stdout], [], [], REPLY_TIMEOUT_S)
        assert readable, "the worker did not answer in time"
        line = self._process.stdout.readline()
        assert line, f"the worker exited with {self._process.wait(5)}"
        return line.strip()

    def stop(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)


@pytest.fixture
def environment() -> dict[str, str]:
    """The test run's environment without any platform-sessions setting: nothing configured."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_SESSIONS_")}


@pytest.fixture
def workers(tmp_path: Path, environment: dict[str, str]) -> Iterator[tuple[Worker, Worker]]:
    first = Worker(tmp_path, environment)
    second = Worker(tmp_path, environment)
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def test_every_worker_uses_the_sql_storage_on_the_file_in_the_working_directory(workers, tmp_path):
    first, second = workers
    assert first.store == second.store == f"sql sqlite:///{tmp_path / 'platform-sessions.sqlite3'}"


def test_a_logout_in_one_process_is_refused_by_the_other_on_the_next_request(workers):
    first, second = workers
    token = first.ask("login", "alice")
    assert second.ask("request", token) == "200"
    assert first.ask("logout", token) == "True"
    assert second.ask("request", token) == "401"
    assert first.ask("request", token) == "401"


def test_a_login_in_one_process_is_accepted_by_the_other_at_once(workers):
    first, second = workers
    refused = 0
    for attempt in range(30):
        token = first.ask("login", f"user-{attempt}")
        refused += second.ask("request", token) != "200"
    assert refused == 0


def test_the_cli_with_the_same_environment_ends_sessions_the_workers_then_refuse(
    workers, tmp_path, environment
):
    first, second = workers
    laptop, phone = first.ask("login", "bob"), second.ask("login", "bob")
    assert first.ask("request", phone) == second.ask("request", laptop) == "200"
    ended = subprocess.run(
        [*CLI, "sessions", "end-all", "bob"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=60,
        check=False,
    )
    assert (ended.returncode, ended.stdout) == (0, "ended 2 sessions of user 'bob'\n"), ended.stderr
    assert ended.stderr == f"storage: {first.store}\n"  # the CLI says which store it acted on
    for worker in (first, second):
        assert worker.ask("request", laptop) == "401"
        assert worker.ask("request", phone) == "401"
