"""What a test does when a real service it needs is absent: skip, or fail in CI."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_SERVICES_ENV = "PLATFORM_SESSIONS_REQUIRE_SERVICES"


def services_required() -> bool:
    """True where a missing service must fail the run (CI sets the variable to 1)."""
    return os.environ.get(REQUIRE_SERVICES_ENV, "").strip() == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip the current test because a service is absent, or fail it when services are required.

    A developer's machine may lack Redis or PostgreSQL, so a skip keeps the rest of the
    suite useful; in CI the services are promised, so their absence is a broken run
    rather than something to skip past quietly.
    """
    if services_required():
        pytest.fail(
            f"{reason} [{REQUIRE_SERVICES_ENV}=1: a missing service is a failure]",
            pytrace=False,
        )
    pytest.skip(reason)
