"""The README's snippets serve the live event stream: 401 without a session, a stream with one."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.web.test_readme_examples import BASE, run_snippet


def test_the_flask_snippet_serves_events_to_its_sessions_only() -> None:
    namespace = run_snippet(0)
    client = namespace["app"].test_client()
    assert client.get("/events", base_url=BASE).status_code == 401
    client.post("/login", data={"username": "alice"}, base_url=BASE)
    response = client.get("/events", base_url=BASE, buffered=False)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert next(response.response).startswith(b"retry: 1000\n")
    response.close()  # releases the stream's listener
    namespace["sessions"].close()


def test_the_fastapi_snippet_serves_events_to_its_sessions_only() -> None:
    namespace = run_snippet(1)
    with TestClient(namespace["app"], base_url=BASE) as client:
        response = client.get("/events")
        assert response.status_code == 401
        assert response.json()["error"] == "login_required"
    namespace["sessions"].close()
