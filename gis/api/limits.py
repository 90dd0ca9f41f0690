"""ASGI middleware refusing request bodies above a size limit (422, nothing read further).

The limit is per endpoint: file uploads (boundary files, ETL layers) take a larger one than
the JSON endpoints, whose small default keeps a flood of huge bodies cheap to refuse.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Reject bodies larger than the endpoint's limit with a 422 naming the limit.

    ``limits`` maps paths (e.g. ``/api/v1/boundaries``; a ``{name}`` part matches one path
    segment) to their own limit; every other path has ``max_bytes``.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, limits: dict[str, int] | None = None
                 ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = [(_pattern(k), v) for k, v in (limits or {}).items()]

    def limit_for(self, path: str) -> int:
        """The body limit of a request path."""
        path = path.rstrip("/")
        return next((v for pat, v in self.limits if pat.fullmatch(path)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    if int(value) > max_bytes:
                        await self._reject(send, max_bytes)
                        return
                except ValueError:
                    pass
        seen = 0
        too_big = False

        async def limited() -> Message:
            nonlocal seen, too_big
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > max_bytes:
                    too_big = True
                    raise _TooLarge
            return msg

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._reject(send, max_bytes)

    async def _reject(self, send: Send, max_bytes: int) -> None:
        body = json.dumps({"error": {
            "code": "body_too_large",
            "message": f"body: the request body is larger than {max_bytes} bytes",
            "details": [{"field": "body", "reason": f"larger than {max_bytes} bytes"}],
        }}).encode()
        await send({"type": "http.response.start", "status": 422,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _pattern(template: str) -> re.Pattern[str]:
    """A path template as a regular expression (``{name}``: one segment)."""
    parts = re.split(r"\{[^/{}]+\}", template.rstrip("/"))
    return re.compile("[^/]+".join(re.escape(p) for p in parts))


class _TooLarge(Exception):
    """Raised inside the app when the streamed body passes the limit."""
