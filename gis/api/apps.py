"""The phone pages served by the API itself: the field app (``/m/``), the resident page
(``/r/``) and the vendored libraries they use (``/static/vendor``); nothing from a CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGES = {"/m": "m", "/r": "r"}
VENDOR_URL = "/static/vendor"
# Every request of these pages stays on this server; photos may come from the camera (blob:)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
       "worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'")


class PageHeaders:
    """Adds the pages' Content-Security-Policy, and no caching of the service worker file."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(tuple(f"{p}/" for p in PAGES) + (VENDOR_URL,)):
            await self.app(scope, receive, send)
            return

        async def with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = list(msg.get("headers", []))
                headers.append((b"content-security-policy", CSP.encode()))
                if path.endswith("/sw.js"):
                    headers.append((b"cache-control", b"no-cache"))
                msg = {**msg, "headers": headers}
            await send(msg)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI) -> None:
    """Mount the pages and the vendored libraries."""
    app.mount(VENDOR_URL, StaticFiles(directory=STATIC_DIR / "vendor"), name="vendor")
    for url, folder in PAGES.items():
        app.mount(url, StaticFiles(directory=STATIC_DIR / folder, html=True), name=folder)
    app.add_middleware(PageHeaders)
