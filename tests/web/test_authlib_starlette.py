"""Authlib's Starlette OAuth client, unchanged, with ``request.session`` from this library.

"Connect your Mastodon account": the client stores the OAuth ``state`` in ``request.session``
before redirecting to the authorization server, and reads it back on the callback; the token
exchange goes to a fake authorization server served in-process (an HTTP transport of the
HTTP client Authlib uses), which checks the code, the client and the redirect URI. The visitor
has no session before the flow: the state's write starts an anonymous one, which the login at
the callback carries under a new token.
"""

from __future__ import annotations

import asyncio
import importlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from platform_sessions.domain.errors import SessionNotFound
from platform_sessions.entrypoints import PlatformSessions
from tests.web.browsers import BASE, Browser

pytest.importorskip("authlib")

AUTHORIZE_URL = "https://auth.example/oauth/authorize"
TOKEN_URL = "https://auth.example/oauth/token"
CLIENT_ID = "platform-sessions-test"
CLIENT_SECRET = "client-secret-for-the-test"
REDIRECT_URI = f"{BASE}/callback"


def http_library() -> Any:
    """The HTTP client package Authlib's Starlette client is built on (httpx, or httpx2 for
    newer Authlib): its in-process transport is what serves the token exchange."""
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    http_client = next(base for base in AsyncOAuth2Client.__mro__ if base.__name__ == "AsyncClient")
    return importlib.import_module(http_client.__module__.split(".")[0])


class FakeAuthorizationServer:
    """Issues codes for the user who "approves" and exchanges each one once for a token."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, str]] = {}
        self.exchanges = 0

    def approve(self, authorize_location: str, username: str) -> str:
        """What the server's consent page redirects the browser to: the callback with a code."""
        query = {key: values[0] for key, values in parse_qs(urlsplit(authorize_location).query).items()}
        assert query["client_id"] == CLIENT_ID
        assert query["response_type"] == "code"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"redirect_uri": query["redirect_uri"], "username": username}
        return f"/callback?code={code}&state={query['state']}"

    def transport(self) -> Any:
        """An in-process transport serving the token endpoint."""
        return http_library().MockTransport(self._token_endpoint)

    def _token_endpoint(self, request: Any) -> Any:
        library = http_library()
        assert str(request.url) == TOKEN_URL
        form = {key: values[0] for key, values in parse_qs(request.content.decode()).items()}
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return library.Response(400, json={"error": "invalid_grant"})
        self.exchanges += 1
        token = {"access_token": f"token-of-{grant['username']}", "token_type": "Bearer", "expires_in": 3600}
        return library.Response(200, json=token)


def oauth_app(sessions: PlatformSessions, server: FakeAuthorizationServer) -> Any:
    from authlib.integrations.starlette_client import OAuth, OAuthError
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from platform_sessions.entrypoints.web.starlette_integration import add_platform_sessions, session_handle

    oauth = OAuth()
    oauth.register(
        "mastodon",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorize_url=AUTHORIZE_URL,
        access_token_url=TOKEN_URL,
        client_kwargs={"transport": server.transport()},
    )

    # Code as written for Starlette's SessionMiddleware: nothing here knows about this library
    # except the login at the end.
    async def connect(request: Request) -> Response:
        client = oauth.create_client("mastodon")
        assert client is not None
        return await client.authorize_redirect(request, REDIRECT_URI)  # type: ignore[no-any-return]

    async def callback(request: Request) -> Response:
        client = oauth.create_client("mastodon")
        assert client is not None
        try:
            token = await client.authorize_access_token(request)
        except OAuthError as error:
            return JSONResponse({"error": error.error}, status_code=400)
        username = str(token["access_token"]).removeprefix("token-of-")
        await asyncio.to_thread(session_handle(request).start, username)
        return JSONResponse({"user": username, "state_keys": [k for k in request.session if "state" in k]})

    app = Starlette(routes=[Route("/connect", connect), Route("/callback", callback)])
    add_platform_sessions(app, sessions)
    return app


@pytest.fixture
def server() -> FakeAuthorizationServer:
    return FakeAuthorizationServer()


def connect(client: Browser) -> str:
    """Start the flow; the URL of the authorization server's page the browser is sent to."""
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    answer = client.test_client.get("/connect", follow_redirects=False, headers=same_origin)
    assert answer.status_code == 302
    location: str = answer.headers["location"]
    assert location.startswith(AUTHORIZE_URL)
    return location


def callback(client: Browser, path: str) -> Any:
    # The authorization server redirected the browser: a cross-site top-level navigation.
    return client.test_client.get(path, headers={"Sec-Fetch-Site": "cross-site"})


def test_the_oauth_flow_keeps_its_state_in_request_session_and_logs_in(
    sessions: PlatformSessions, server: FakeAuthorizationServer
) -> None:
    client = Browser("starlette", oauth_app(sessions, server))
    location = connect(client)
    visitor = client.token
    assert visitor is not None  # the state's write started the visitor's session
    state = parse_qs(urlsplit(location).query)["state"][0]
    stored = sessions.resolve(visitor).session
    assert stored.is_anonymous
    assert stored.data[f"_state_mastodon_{state}"]["data"]["redirect_uri"] == REDIRECT_URI

    answer = callback(client, server.approve(location, "alice"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"user": "alice", "state_keys": []}
    assert server.exchanges == 1
    context = sessions.resolve(client.token)
    assert context.user_id == "alice"
    assert not any(key.startswith("_state_") for key in context.session.data)  # consumed
    with pytest.raises(SessionNotFound):
        sessions.resolve(visitor)  # carried into the login under a new token


def test_a_callback_replayed_or_from_another_browser_is_refused(
    sessions: PlatformSessions, server: FakeAuthorizationServer
) -> None:
    app = oauth_app(sessions, server)
    victim, attacker = Browser("starlette", app), Browser("starlette", app)
    location = connect(victim)
    approved = server.approve(location, "alice")
    # The attacker's browser has no session holding this state (login CSRF through OAuth).
    assert callback(attacker, approved).status_code == 400
    assert attacker.token is None
    assert callback(victim, approved).status_code == 200
    assert callback(victim, approved).status_code == 400  # the state was used up
    assert server.exchanges == 1
