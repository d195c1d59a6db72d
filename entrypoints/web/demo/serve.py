"""``platform-sessions demo``: seed, serve on 127.0.0.1, print how to log in, open a browser."""

from __future__ import annotations

import os
import sys
import webbrowser
from collections.abc import Callable

from platform_sessions.entrypoints.facade import PlatformSessions
from platform_sessions.entrypoints.web.demo.seed import Credential
from platform_sessions.entrypoints.web.demo.server import DemoServer
from platform_sessions.entrypoints.web.demo.site import build_demo_site

Printer = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)


def introduction(url: str, credentials: list[Credential], storage: str) -> list[str]:
    """What the demo prints at start: where to go and how to log in."""
    lines = [
        f"platform-sessions demo: open {url} (storage: {storage}; Ctrl-C stops it)",
        "",
        "Log in as one of these users (passwords are new on every run, stored only as scrypt hashes):",
    ]
    for credential in credentials:
        platforms = ", ".join(credential.platform_names)
        lines.append(f"  {credential.user_id:<8} password: {credential.password}   ({platforms})")
    lines += [
        "",
        "Try: two tabs (a switch or a logout in one shows in the other), 'Open in its own tab' (a per-tab",
        "platform through the X-Platform-Id header), and a second browser or a private window to see",
        "'Your sessions' and 'End all other sessions' at work.",
    ]
    return lines


def _can_open_browser() -> bool:
    # Without a display, webbrowser would start a text browser inside this terminal.
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def serve_demo(
    sessions: PlatformSessions,
    *,
    port: int,
    open_browser: bool,
    storage: str = "embedded, in memory",
    say: Printer = _print,
) -> None:
    """Serve the demo until Ctrl-C. Raises ``OSError`` if the port cannot be bound."""
    site = build_demo_site(sessions)
    server = DemoServer(site.app, port=port, before_stop=site.close)
    try:
        for line in introduction(server.url, site.credentials, storage):
            say(line)
        if open_browser and _can_open_browser():
            webbrowser.open(server.url)
        server.serve_forever()
    except KeyboardInterrupt:
        say("\nStopped.")
    finally:
        server.stop()
