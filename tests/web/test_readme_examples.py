"""The README's Flask and FastAPI snippets run as printed (a reader copies them)."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from tests.web.support import REPOSITORY

BASE = "https://app.example"


def readme_snippets() -> list[str]:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Embed it in Flask / FastAPI", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def run_snippet(index: int) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": f"readme_snippet_{index}"}
    exec(compile(readme_snippets()[index], f"README.md snippet {index}", "exec"), namespace)
    return namespace


def test_the_readme_has_a_flask_and_a_fastapi_snippet() -> None:
    flask_snippet, fastapi_snippet = readme_snippets()
    assert "FlaskPlatformSessions" in flask_snippet
    assert "add_platform_sessions" in fastapi_snippet


def test_the_flask_snippet_logs_in_and_switches() -> None:
    namespace = run_snippet(0)
    sessions = namespace["platform_sessions"].sessions
    for kind in ("mastodon", "pixelfed"):
        sessions.connect_platform(
            "alice", name=kind, platform_type=kind, instance_url=f"https://{kind}.example", username="alice"
        )
    pixelfed = next(p for p in sessions.list_platforms("alice") if p.platform_type == "pixelfed")
    client = namespace["app"].test_client()
    csrf = client.post("/login", data={"username": "alice"}, base_url=BASE).get_json()["csrf_token"]
    switched = client.post(
        "/platform", data={"platform_id": pixelfed.id}, headers={"X-CSRF-Token": csrf}, base_url=BASE
    )
    assert switched.get_json() == {"platform": pixelfed.id, "changed": True}
    assert client.post("/platform", data={"platform_id": pixelfed.id}, base_url=BASE).status_code == 403
    assert client.get("/page", base_url=BASE).get_json()["messages"] == ["Switched."]


def test_the_flask_snippet_keeps_a_visitors_theme_through_the_login() -> None:
    namespace = run_snippet(0)
    client = namespace["app"].test_client()
    assert client.get("/page", base_url=BASE).get_json() == {"theme": "light", "messages": []}
    assert client.post("/theme", data={"theme": "dark"}, base_url=BASE).get_json() == {"theme": "dark"}
    same_origin = {"Sec-Fetch-Site": "same-origin"}  # a visitor's form post, as a browser sends it
    client.post("/login", data={"username": "alice"}, headers=same_origin, base_url=BASE)
    assert client.get("/page", base_url=BASE).get_json() == {"theme": "dark", "messages": []}


def test_the_fastapi_snippet_logs_in_and_answers_me() -> None:
    namespace = run_snippet(1)
    with TestClient(namespace["app"], base_url=BASE) as client:
        assert client.get("/me").status_code == 401
        assert client.post("/login", json={"username": "alice"}).json()["user"] == "alice"
        assert client.get("/me").json() == {"user": "alice", "platform": None, "is_override": False}


def test_the_fastapi_snippet_keeps_a_cart_in_request_session() -> None:
    namespace = run_snippet(1)
    with TestClient(namespace["app"], base_url=BASE) as client:
        assert client.post("/cart", json={"name": "book"}).json() == {"cart": ["book"]}
        same_origin = {"Sec-Fetch-Site": "same-origin"}  # the visitor has a session now
        assert client.post("/cart", json={"name": "pen"}, headers=same_origin).json() == {
            "cart": ["book", "pen"]
        }
        csrf = client.post("/login", json={"username": "alice"}, headers=same_origin).json()["csrf_token"]
        assert client.post("/cart", json={"name": "ink"}, headers={"X-CSRF-Token": csrf}).json() == {
            "cart": ["book", "pen", "ink"]
        }
