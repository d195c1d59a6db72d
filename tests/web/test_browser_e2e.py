"""The demo in a real headless Chromium: two tabs follow each other, and another device is logged out.

Debian's ``chromium`` driven by Playwright for Python through ``executable_path`` (never a
browser download). Skips with a reason where either is missing, unless
PLATFORM_SESSIONS_REQUIRE_SERVICES=1 (CI), where that is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from platform_sessions.entrypoints import PlatformSessions
from platform_sessions.entrypoints.web.demo import DemoServer, DemoSite, build_demo_site
from tests.support.services import unavailable
from tests.web.demo_support import password_of

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WITHIN_MS = 2000  # the promise: another tab sees a change within 2 seconds
STEP_MS = 10_000  # page loads and clicks: generous, but bounded


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def site(sessions: PlatformSessions) -> Iterator[DemoSite]:
    demo = build_demo_site(sessions)
    yield demo
    demo.close()


@pytest.fixture
def server(site: DemoSite) -> Iterator[DemoServer]:
    with DemoServer(site.app, before_stop=site.close).start() as running:
        yield running


def log_in(page: Page, server: DemoServer, site: DemoSite) -> None:
    page.set_default_timeout(STEP_MS)
    page.goto(server.url)
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", password_of(site, "alice"))
    page.click("button[type=submit]")
    page.wait_for_selector("#platforms li")


def session_platform_is(page: Page, name: str) -> None:
    page.wait_for_function(
        "name => document.getElementById('session-platform').textContent === name",
        arg=name,
        timeout=WITHIN_MS,
    )


def test_tabs_follow_a_switch_and_other_devices_are_logged_out(
    browser: Browser, server: DemoServer, site: DemoSite
) -> None:
    laptop = browser.new_context()
    tab_a = laptop.new_page()
    log_in(tab_a, server, site)
    tab_b = laptop.new_page()  # same browser, same cookie: the same session
    tab_b.set_default_timeout(STEP_MS)
    tab_b.goto(server.url)
    session_platform_is(tab_b, "Mastodon")
    tab_b.wait_for_function("document.querySelectorAll('#platforms li').length === 4")

    # A switch in tab A shows in tab B, pushed by server-sent events.
    tab_a.click("li:has-text('Pixelfed') button.switch")
    session_platform_is(tab_b, "Pixelfed")
    assert "switched to Pixelfed" in tab_b.inner_text("#events")

    # A third tab works on another platform through the per-request override header.
    work = tab_a.get_attribute("li:has-text('Work Mastodon')", "data-platform")
    tab_c = laptop.new_page()
    tab_c.set_default_timeout(STEP_MS)
    tab_c.goto(f"{server.url}?platform={work}")
    tab_c.wait_for_selector("#override-banner:not([hidden])")
    assert tab_c.inner_text("#tab-platform") == "Work Mastodon (override for this tab)"
    assert tab_c.inner_text("#session-platform") == "Pixelfed"  # the session did not move
    session_platform_is(tab_a, "Pixelfed")

    # Alice on a second device: her own browser context, her own session.
    phone = browser.new_context()
    tab_phone = phone.new_page()
    log_in(tab_phone, server, site)

    tab_a.goto(f"{server.url}sessions")
    assert tab_a.locator("#sessions tbody tr").count() == 2
    tab_a.click("#end-others")
    tab_phone.wait_for_url(re.compile(r"/login\?reason=ended$"), timeout=WITHIN_MS)
    assert "This session was ended" in tab_phone.inner_text("#login-notice")

    # This browser kept its session: tab B still works, and reloading it stays logged in.
    tab_b.reload()
    session_platform_is(tab_b, "Pixelfed")
    phone.close()
    laptop.close()
