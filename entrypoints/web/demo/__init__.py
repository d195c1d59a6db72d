"""The demo web application behind ``platform-sessions demo``.

Plain WSGI on the standard library's threaded server, wrapped in the library's own
:class:`~platform_sessions.entrypoints.web.SessionMiddleware`: seeded users log in, switch
platforms, watch other tabs follow by server-sent events, list and end their sessions, and work
on another platform in one tab through the per-request override. No front-end build step.
"""

from platform_sessions.entrypoints.web.demo.serve import serve_demo
from platform_sessions.entrypoints.web.demo.server import DemoServer
from platform_sessions.entrypoints.web.demo.site import DemoSite, build_demo_site

__all__ = ["DemoServer", "DemoSite", "build_demo_site", "serve_demo"]
