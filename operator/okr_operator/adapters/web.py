"""The web view's HTTP server: aiohttp (kopf's own dependency) on the operator's event loop.

The server knows nothing of OKRs: it hands each GET's path and query to
``render`` and sends back the HTML. It runs on the event loop the engine
runs on, so ``render`` reads the engine's state between two of its steps
and never needs a lock; pages are built from that state, never from the API
server. Only GET and HEAD are served: the view is read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from aiohttp import web

# (status code, HTML) for a path and its query parameters.
Render = Callable[[str, Mapping[str, str]], tuple[int, str]]

logger = logging.getLogger(__name__)

HEADERS = {
    # Everything is inline (CSS, SVG); nothing is fetched, nothing runs.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


FAILED = "<!doctype html><title>Error</title><p>The page could not be built.</p>"


class WebServer:
    """Serves ``render`` on ``address:port``; ``start()`` then ``close()``."""

    def __init__(self, render: Render, *, address: str, port: int) -> None:
        self._render = render
        self._address = address
        self._port = port
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._site: web.TCPSite | None = None

    async def start(self) -> WebServer:
        """Bind and serve on the running event loop."""
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self._address, self._port)
        await self._site.start()
        return self

    async def close(self) -> None:
        """Stop serving and release the port."""
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            status, html = self._render(request.path, dict(request.query))
        except Exception:
            # The page says nothing of what failed; the log has it for the operator's admins.
            logger.exception("web view: rendering %s failed", request.path)
            status, html = 500, FAILED
        return web.Response(
            status=status, text=html, content_type="text/html", charset="utf-8", headers=HEADERS
        )
