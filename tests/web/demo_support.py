"""A demo site on in-memory storage, and logging in to it."""

from __future__ import annotations

from werkzeug.test import Client

from platform_sessions.entrypoints.web.demo import DemoSite

DEMO_COOKIE = "demo_session"
BASE = "http://127.0.0.1"


def password_of(site: DemoSite, user_id: str) -> str:
    return next(c.password for c in site.credentials if c.user_id == user_id)


def logged_in_client(site: DemoSite, user_id: str = "alice", user_agent: str = "pytest") -> Client:
    client = Client(site.app)
    response = client.post(
        "/login",
        data={"username": user_id, "password": password_of(site, user_id)},
        headers={"User-Agent": user_agent},
        base_url=BASE,
    )
    assert response.status_code == 303, response.data
    return client


def csrf_of(client: Client) -> str:
    """The session's CSRF token, as the page hands it to its script (a meta tag)."""
    page = client.get("/", base_url=BASE).get_data(as_text=True)
    marker = 'name="csrf-token" content="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]
