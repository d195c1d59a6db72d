"""The whole lifecycle on the embedded two-tier storage (fakeredis in this process in front of a
SQLite file), the same code path as production, surviving a restart of the process. It is
explicit now, ``bootstrap(storage="two-tier")`` without a Redis server: plain ``bootstrap()``
is the SQL storage on the file, which is right under several processes (tests/test_default_storage.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.entrypoints import bootstrap


def test_the_embedded_two_tier_storage_runs_the_whole_lifecycle_and_survives_a_restart(tmp_path, monkeypatch):
    monkeypatch.delenv("PLATFORM_SESSIONS_ROUTING_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    monkeypatch.setenv("PLATFORM_SESSIONS_DATABASE_URL", url)
    with bootstrap(storage="two-tier") as sessions:
        assert sessions.health().storage == "two-tier"
        mastodon = sessions.connect_platform(
            "alice", name="M", platform_type="mastodon", instance_url="https://m.example", username="a"
        )
        pixelfed = sessions.connect_platform(
            "alice", name="P", platform_type="pixelfed", instance_url="https://p.example", username="a"
        )
        laptop = sessions.start_session("alice")
        phone = sessions.start_session("alice")
        context = sessions.resolve(laptop.token.value)
        assert context.platform == mastodon
        assert sessions.switch_platform(context, pixelfed.id).changed
        rotated = sessions.rotate(laptop.token.value)
        with pytest.raises(SessionNotFound):
            sessions.resolve(laptop.token.value)
        assert len(sessions.list_sessions("alice")) == 2
        assert sessions.end_all_sessions("alice", keep=rotated.token.value) == 1
        with pytest.raises(SessionNotFound):
            sessions.resolve(phone.token.value)
        health = sessions.health()
        assert health.outbox_depth == 0
        assert health.breaker == "closed"
        assert health.live_sessions == 1
    assert (tmp_path / "app.sqlite3.routing-key").exists()
    with bootstrap(storage="two-tier") as restarted:  # a new process: fakeredis is empty, the database is not
        assert restarted.resolve(rotated.token.value).platform_id == pixelfed.id
        with pytest.raises(SessionNotFound):
            restarted.resolve(phone.token.value)
        assert restarted.rewarm() == 1


def test_a_second_process_on_the_file_of_an_embedded_two_tier_storage_is_refused(tmp_path, monkeypatch):
    # Its Redis lives in the first process: a second one, embedded or SQL, would diverge silently.
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    monkeypatch.setenv("PLATFORM_SESSIONS_DATABASE_URL", url)
    env = {**os.environ, "PLATFORM_SESSIONS_DATABASE_URL": url}
    second = "from platform_sessions.entrypoints import bootstrap; bootstrap(storage={!r})"
    with bootstrap(storage="two-tier") as sessions:
        sessions.start_session("alice")
        for storage in ("two-tier", None):
            ran = subprocess.run(
                [sys.executable, "-c", second.format(storage)],
                capture_output=True,
                check=False,
                text=True,
                env=env,
                timeout=60,
            )
            assert ran.returncode == 1
            assert "MisconfiguredStore" in ran.stderr
            assert "in use by" in ran.stderr
        ended = subprocess.run(
            [sys.executable, "-m", "platform_sessions.entrypoints.cli", "sessions", "end-all", "alice"],
            capture_output=True,
            check=False,
            text=True,
            env=env,
            timeout=60,
        )
        assert ended.returncode == 1
        assert "in use by a process on the embedded two-tier storage" in ended.stderr
        assert len(sessions.list_sessions("alice")) == 1
    with bootstrap() as sessions:  # once it is closed, the SQL storage may open the file
        assert len(sessions.list_sessions("alice")) == 1
