"""The session policy read from the environment (``PLATFORM_SESSIONS_IDLE_TIMEOUT=2h``...)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platform_sessions import bootstrap
from platform_sessions.domain.errors import InvalidSetting
from platform_sessions.domain.policy import SessionPolicy
from platform_sessions.entrypoints.policy_settings import POLICY_FIELDS, policy_variable
from platform_sessions.entrypoints.settings import Settings


def test_no_policy_variable_leaves_the_policy_to_the_caller() -> None:
    assert Settings.from_environment({}).policy is None
    assert Settings.from_environment({"PLATFORM_SESSIONS_MAX_DATA_BYTES": "  "}).policy is None


def test_every_policy_field_has_its_variable() -> None:
    assert set(POLICY_FIELDS) == {f.name for f in SessionPolicy.__attrs_attrs__}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param(
            {
                "PLATFORM_SESSIONS_ANONYMOUS_IDLE_TIMEOUT": "30m",
                "PLATFORM_SESSIONS_ANONYMOUS_LIFETIME": "12h",
                "PLATFORM_SESSIONS_MAX_DATA_BYTES": "32768",
                "PLATFORM_SESSIONS_MAX_DATA_VALUE_BYTES": "4096",
            },
            SessionPolicy(
                anonymous_idle_timeout=timedelta(minutes=30),
                anonymous_lifetime=timedelta(hours=12),
                max_data_bytes=32768,
                max_data_value_bytes=4096,
            ),
            id="issue 15's fields",
        ),
        pytest.param(
            {
                "PLATFORM_SESSIONS_IDLE_TIMEOUT": "7200",
                "PLATFORM_SESSIONS_ABSOLUTE_LIFETIME": "30d",
                "PLATFORM_SESSIONS_TOUCH_INTERVAL": "30s",
                "PLATFORM_SESSIONS_MAX_SESSIONS_PER_USER": "5",
                "PLATFORM_SESSIONS_ROTATE_TOKEN_ON_SWITCH": "yes",
            },
            SessionPolicy(
                idle_timeout=timedelta(hours=2),
                absolute_lifetime=timedelta(days=30),
                touch_interval=timedelta(seconds=30),
                max_sessions_per_user=5,
                rotate_token_on_switch=True,
            ),
            id="the older fields",
        ),
    ],
)
def test_the_policy_variables_are_read_with_units(env: dict[str, str], expected: SessionPolicy) -> None:
    assert Settings.from_environment(env).policy == expected


@pytest.mark.parametrize(
    ("field_name", "text"),
    [
        ("anonymous_idle_timeout", "soon"),
        ("anonymous_idle_timeout", "0"),
        ("anonymous_lifetime", "-5m"),
        ("anonymous_lifetime", "1.5h"),
        ("anonymous_lifetime", "\u0661\u0662h"),  # digits, but not ASCII ones
        ("anonymous_lifetime", "9" * 40),
        ("max_data_bytes", "64k"),
        ("max_data_bytes", "0"),
        ("max_data_value_bytes", "-1"),
        ("max_data_value_bytes", "\u0661\u0662\u0663"),
        ("max_data_value_bytes", "9" * 40),
        ("rotate_token_on_switch", "maybe"),
    ],
)
def test_a_value_that_does_not_parse_is_a_typed_error_naming_its_variable(field_name: str, text: str) -> None:
    variable = policy_variable(field_name)

    with pytest.raises(InvalidSetting) as raised:
        Settings.from_environment({variable: text})

    assert raised.value.setting == variable
    assert variable in str(raised.value)


def test_values_the_policy_refuses_together_name_the_variables() -> None:
    env = {"PLATFORM_SESSIONS_MAX_DATA_BYTES": "1024", "PLATFORM_SESSIONS_MAX_DATA_VALUE_BYTES": "2048"}

    with pytest.raises(InvalidSetting, match="max_data_value_bytes cannot exceed max_data_bytes") as raised:
        Settings.from_environment(env)

    assert raised.value.setting == "PLATFORM_SESSIONS_MAX_DATA_BYTES, PLATFORM_SESSIONS_MAX_DATA_VALUE_BYTES"


def test_bootstrap_uses_the_environment_policy_unless_given_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_SESSIONS_ANONYMOUS_LIFETIME", "6h")
    monkeypatch.setenv("PLATFORM_SESSIONS_MAX_DATA_VALUE_BYTES", "1000")
    for name in ("REDIS_URL", "REDIS_CLUSTER_NODES", "DATABASE_URL"):
        monkeypatch.delenv(f"PLATFORM_SESSIONS_{name}", raising=False)

    with bootstrap(storage="memory") as from_environment:
        assert from_environment.policy.anonymous_lifetime == timedelta(hours=6)
        assert from_environment.policy.max_data_value_bytes == 1000
    given = SessionPolicy(max_sessions_per_user=3)
    with bootstrap(storage="memory", policy=given) as explicit:
        assert explicit.policy == given  # the whole policy, nothing of the environment's merged in
