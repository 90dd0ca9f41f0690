"""ASGI guards: refuse input PostgreSQL or the parser cannot take; answer every crash with JSON.

``InputGuard`` checks every request once, before any route sees it: a NUL character in the
path or a query parameter, a JSON body nested deeper than ``safejson.MAX_DEPTH`` (checked on
the raw bytes, before parsing), and a JSON string or key holding NUL or a lone surrogate.
Each is a 422 naming the field. ``CatchAll`` turns an unhandled exception into a 500 JSON
answer without re-raising, so the server keeps the client's connection open.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis import safejson

log = logging.getLogger("gis.api")
_FORMS = (b"multipart/form-data", b"application/x-www-form-urlencoded")
_NUL = "contains a NUL character (\\u0000)"


async def send_json(send: Send, status: int, body: dict) -> None:
    """Send a complete JSON answer."""
    raw = json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})


def refusal(field: str, reason: str, code: str) -> dict:
    """The 422 body for one bad field."""
    return {"error": {"code": code, "message": f"{field}: {reason}",
                      "details": [{"field": field, "reason": reason}]}}


def _printable(name: str) -> str:
    """A parameter name safe to echo (NUL shown as \\u0000)."""
    return name.replace("\x00", "\\u0000") or "query"


def query_problem(query_string: bytes) -> tuple[str, str] | None:
    """(parameter, reason) of the first query parameter holding a NUL, or None."""
    if b"%00" not in query_string and b"\x00" not in query_string:
        return None
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            return _printable(key), _NUL
    return None


def path_problem(path: str, templates: Iterable[str]) -> tuple[str, str] | None:
    """(path parameter, reason) when the decoded path holds a NUL, or None."""
    if "\x00" not in path:
        return None
    for template in templates:
        m = compile_path(template)[0].match(path)
        if m is not None:
            for name, value in m.groupdict().items():
                if "\x00" in value:
                    return name, _NUL
    return "path", _NUL


def body_problem(raw: bytes) -> tuple[str, str, str] | None:
    """(field, reason, code) when a JSON body is too deep or holds a string PG refuses."""
    try:
        safejson.check_depth(raw)
        if not safejson.suspect(raw):
            return None
        doc = json.loads(raw)
        safejson.check_strings(doc)
    except safejson.JSONRefused as e:
        return e.field, e.reason, e.code
    except ValueError:  # not JSON: the route answers that itself
        return None
    return None


class InputGuard:
    """422 for NUL in the path or query, and for too-deep or unstorable JSON bodies."""

    def __init__(self, app: ASGIApp, paths: Callable[[], Iterable[str]] = tuple) -> None:
        self.app = app
        self.paths = paths  # the route templates, asked for only when a path holds a NUL

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = (query_problem(scope.get("query_string", b""))
                   or path_problem(scope.get("path", ""), self.paths()))
        if problem is not None:
            await send_json(send, 422, refusal(problem[0], problem[1], "bad_text"))
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS") or self._form(scope):
            await self.app(scope, receive, send)
            return
        raw, replay = await self._buffer(receive)
        if raw and (bad := body_problem(raw)) is not None:
            await send_json(send, 422, refusal(*bad))
            return
        await self.app(scope, replay, send)

    @staticmethod
    def _form(scope: Scope) -> bool:
        """Whether the body is a form (files are checked by their readers)."""
        for name, value in scope.get("headers", ()):
            if name == b"content-type":
                return value.lower().startswith(_FORMS)
        return False

    @staticmethod
    async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
        """Read the whole body; a receive that hands it on once, then defers to the server."""
        chunks: list[bytes] = []
        more = True
        while more:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            chunks.append(msg.get("body", b""))
            more = msg.get("more_body", False)
        raw = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        return raw, replay


class CatchAll:
    """An unhandled exception → 500 JSON, logged; the connection stays open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:  # half an answer went out: only closing the connection is honest
                raise
            await send_json(send, 500, {"error": {"code": "internal_error",
                                                  "message": "internal error"}})
