"""The demo's stylesheet and script, read from the package (no build step, nothing generated)."""

from __future__ import annotations

from http import HTTPStatus
from importlib import resources

from platform_sessions.entrypoints.web.demo.http_messages import Response, not_found

# Only these names are served: no path from a URL ever reaches the file system.
CONTENT_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}


def static_file(name: str) -> Response:
    """The named file, or 404."""
    content_type = CONTENT_TYPES.get(name)
    if content_type is None:
        return not_found()
    body = resources.files(__package__ or __name__).joinpath("static", name).read_bytes()
    return Response(
        HTTPStatus.OK,
        [body],
        (("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-cache")),
    )
