"""The demo's HTML pages: small server-rendered shells; ``static/app.js`` fills in live data.

Every page takes the request's :class:`Chrome`: the CSRF token of whatever session the
browser has (a visitor's anonymous one included) and the session's theme preference.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from attrs import frozen

from platform_sessions.domain.context import SessionContext, SessionSummary
from platform_sessions.entrypoints.web.demo.devices import describe_device

LOGIN_NOTICES = {
    "ended": "This session was ended, from this browser or another device. Log in again.",
    "expired": "Your session expired or was ended. Log in again.",
    "logout": "You logged out.",
}


THEMES = ("light", "dark")


@frozen
class Chrome:
    """What every page shows whoever is logged in: the session's theme, the token of its forms."""

    csrf_token: str = ""  # the session's, a visitor's included; empty before any session
    theme: str = "light"


def _theme_switch(chrome: Chrome) -> str:
    other = "dark" if chrome.theme == "light" else "light"
    return f"""<form method="post" action="/preferences" class="inline">
      <input type="hidden" name="csrf_token" value="{escape(chrome.csrf_token)}">
      <input type="hidden" name="theme" value="{other}">
      <button type="submit" class="link" id="theme-switch">{other.capitalize()} theme</button>
    </form>"""


def _layout(
    title: str,
    page: str,
    content: str,
    *,
    context: SessionContext | None,
    chrome: Chrome,
    user_name: str = "",
) -> str:
    csrf = escape(chrome.csrf_token)
    handle = escape(context.handle) if context else ""
    navigation = ""
    if context is not None:
        navigation = f"""
      <nav>
        <a href="/" class="{"current" if page == "dashboard" else ""}">Platforms</a>
        <a href="/sessions" class="{"current" if page == "sessions" else ""}">Your sessions</a>
        <span class="who">{escape(user_name)}</span>
        <form method="post" action="/logout" class="inline">
          <input type="hidden" name="csrf_token" value="{csrf}">
          <button type="submit" class="link" id="logout">Log out</button>
        </form>
      </nav>"""
    return f"""<!doctype html>
<html lang="en" data-theme="{escape(chrome.theme)}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="csrf-token" content="{csrf}">
  <title>{escape(title)} · platform-sessions demo</title>
  <link rel="stylesheet" href="/static/style.css">
  <script src="/static/app.js" defer></script>
</head>
<body data-page="{page}" data-session="{handle}">
  <header class="topbar">
    <a class="brand" href="/">platform-sessions <span>demo</span></a>{navigation}
  </header>
  <main>
{content}
  </main>
  <footer>A demo of <code>platform-sessions</code>: the users and their passwords are printed by
    <code>platform-sessions demo</code>, and every session change goes through the library.
    The theme is a preference kept in this browser's session (a visitor's too, carried through
    the login). {_theme_switch(chrome)}</footer>
</body>
</html>
"""


def login_page(
    chrome: Chrome, *, reason: str | None = None, error: str | None = None, user_id: str = ""
) -> str:
    """The login form, with a notice when a session was ended or a login failed."""
    notice = ""
    if error:
        notice = f'<p class="notice error" role="alert">{escape(error)}</p>'
    elif reason in LOGIN_NOTICES:
        notice = f'<p class="notice" id="login-notice">{escape(LOGIN_NOTICES[reason])}</p>'
    content = f"""    <section class="card narrow">
      <h1>Log in</h1>
      {notice}
      <form method="post" action="/login" class="stack">
        <label>User
          <input name="username" autocomplete="username" value="{escape(user_id)}" required></label>
        <label>Password
          <input name="password" type="password" autocomplete="current-password" required></label>
        <button type="submit">Log in</button>
      </form>
      <p class="muted">The users and their demo passwords were printed in the terminal that runs
        <code>platform-sessions demo</code>. Passwords are new on every run and kept only as
        scrypt hashes.</p>
    </section>"""
    return _layout("Log in", "login", content, context=None, chrome=chrome)


def dashboard_page(context: SessionContext, user_name: str, chrome: Chrome) -> str:
    """The platforms page; ``app.js`` loads and renders the state through ``/api/state``."""
    content = f"""    <section class="banner" id="override-banner" hidden>
      This tab works on <strong id="override-name"></strong> through the <code>X-Platform-Id</code>
      header, per request and never stored; the session itself stays where it is.
      <button type="button" class="link" id="clear-override">Back to the session's platform</button>
    </section>
    <p class="notice error" id="dashboard-error" role="alert" hidden></p>
    <p class="notice" id="flash" role="status" hidden></p>
    <section class="card">
      <h1>Hello, {escape(user_name)}</h1>
      <dl class="facts">
        <dt>Session's active platform</dt><dd id="session-platform">…</dd>
        <dt>This tab works on</dt><dd id="tab-platform">…</dd>
      </dl>
      <p class="muted">Switching changes the session, so every tab of this browser follows within a
        moment (open this page in a second tab to watch). "Open in its own tab" overrides the platform
        for one tab only.</p>
    </section>
    <section class="card">
      <h2>Your platform connections</h2>
      <ul class="platforms" id="platforms"></ul>
    </section>
    <section class="card">
      <h2>Live events</h2>
      <p class="muted">Pushed to this page by server-sent events, fed from the library's event publisher.</p>
      <ol class="events" id="events"><li class="muted" id="no-events">Nothing yet.</li></ol>
    </section>"""
    return _layout("Platforms", "dashboard", content, context=context, chrome=chrome, user_name=user_name)


def _time(moment: datetime) -> str:
    return f'<time datetime="{moment.isoformat()}">{moment:%Y-%m-%d %H:%M:%S} UTC</time>'


def _session_row(summary: SessionSummary, csrf_token: str) -> str:
    current = '<span class="badge">this browser</span>' if summary.is_current else ""
    label = "Log out here" if summary.is_current else "End this session"
    row_class = "current" if summary.is_current else ""
    device = escape(describe_device(summary.client.user_agent))
    return f"""        <tr class="{row_class}" data-handle="{escape(summary.handle)}">
          <td title="{escape(summary.client.user_agent)}">{device} {current}</td>
          <td>{escape(summary.client.ip_address or "unknown")}</td>
          <td>{_time(summary.created_at)}</td>
          <td>{_time(summary.last_seen_at)}</td>
          <td>
            <form method="post" action="/sessions/end" class="inline">
              <input type="hidden" name="csrf_token" value="{escape(csrf_token)}">
              <input type="hidden" name="handle" value="{escape(summary.handle)}">
              <button type="submit" class="secondary">{label}</button>
            </form>
          </td>
        </tr>"""


def sessions_page(
    context: SessionContext,
    user_name: str,
    summaries: Sequence[SessionSummary],
    chrome: Chrome,
    *,
    ended: int | None = None,
) -> str:
    """The "your sessions" page: every live session of the user, each with an end button."""
    rows = "\n".join(_session_row(summary, context.csrf_token) for summary in summaries)
    others = sum(1 for summary in summaries if not summary.is_current)
    notice = ""
    if ended is not None:
        plural = "" if ended == 1 else "s"
        notice = f'<p class="notice" id="sessions-notice">Ended {ended} other session{plural}.</p>'
    content = f"""    <section class="card">
      <h1>Your sessions</h1>
      {notice}
      <p class="muted">Every browser and device logged in as you. "Last seen" moves at most once a
        minute: the library writes a touch only when it is due.</p>
      <table class="sessions" id="sessions">
        <thead><tr><th>Device</th><th>IP address</th><th>Started</th><th>Last seen</th><th></th></tr></thead>
        <tbody>
{rows}
        </tbody>
      </table>
      <form method="post" action="/sessions/end-others" class="actions">
        <input type="hidden" name="csrf_token" value="{escape(context.csrf_token)}">
        <button type="submit" class="danger" id="end-others" {"" if others else "disabled"}>
          End all other sessions ({others})</button>
      </form>
    </section>"""
    return _layout("Your sessions", "sessions", content, context=context, chrome=chrome, user_name=user_name)
