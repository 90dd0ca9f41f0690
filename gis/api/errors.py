"""Exception handlers: typed errors → one status table; outages → 503 + Retry-After; no leaks."""

from __future__ import annotations

import logging

import psycopg2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from gis.db.engine import is_query_timeout
from gis.errors import (
    BadQueryParameter,
    Busy,
    Conflict,
    Forbidden,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    QueryTimeout,
    TooMany,
    Unauthorized,
    Unavailable,
    UnknownReference,
    WanggeError,
)

log = logging.getLogger("gis.api")

# The one place a domain error becomes an HTTP status (a subclass takes its nearest ancestor's).
STATUS: dict[type[WanggeError], int] = {
    WanggeError: 400,
    InvalidInput: 422,
    BadQueryParameter: 400,  # OGC API and Open311 answer a bad parameter with 400
    UnknownReference: 422,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    TooMany: 429,
    Unavailable: 503,
    Busy: 503,
    QueryTimeout: 504,
}


# Standards that answer a malformed parameter with 400 Bad Request (OGC API, Open311)
STANDARD_400_PATHS = ("/ogc", "/open311/")


def status_for(exc: WanggeError) -> int:
    """The HTTP status of a domain error: its class's entry, else its nearest ancestor's."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def field_path(loc: tuple | list) -> str:
    """('body', 'events', 2, 'lon') → 'events[2].lon'."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path", "header"):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def pydantic_details(errors: list[dict], prefix: str = "") -> list[dict[str, str]]:
    """Pydantic error list → [{field, reason}]."""
    details = []
    for e in errors:
        loc = [p for p in e.get("loc", ())
               if not (isinstance(p, str) and p.startswith("function-"))]
        path = field_path(loc)
        field = prefix + path if path != "body" or not prefix else prefix.rstrip(".")
        reason = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        details.append({"field": field, "reason": reason})
    return details


def install(app: FastAPI, retry_after_s: int) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(WanggeError)
    async def _wangge(_req: Request, exc: WanggeError) -> JSONResponse:
        status = status_for(exc)
        headers = {"Retry-After": str(retry_after_s)} if status == 503 else None
        return JSONResponse(exc.to_dict(), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(req: Request, exc: RequestValidationError) -> JSONResponse:
        details = pydantic_details(exc.errors())
        msg = "; ".join(f"{d['field']}: {d['reason']}" for d in details[:5])
        status = 400 if req.url.path.startswith(STANDARD_400_PATHS) else 422
        return JSONResponse(
            {"error": {"code": "invalid_input", "message": msg, "details": details}},
            status_code=status,
        )

    async def _db_down(_req: Request, exc: Exception) -> JSONResponse:
        if is_query_timeout(exc):  # a statement timeout is slowness, not an outage
            log.warning("statement timeout: %s", type(exc).__name__)
            return JSONResponse(QueryTimeout().to_dict(), status_code=STATUS[QueryTimeout])
        log.error("database unavailable: %s", type(exc).__name__)
        return JSONResponse(
            {"error": {"code": "service_unavailable",
                       "message": "the database is unreachable; nothing was stored; retry later"}},
            status_code=503, headers={"Retry-After": str(retry_after_s)},
        )

    app.add_exception_handler(OperationalError, _db_down)
    app.add_exception_handler(PoolTimeout, _db_down)
    # raw psycopg2 cursors (execute_values in gis.intake.events, gis.territory.people) raise
    # unwrapped errors:
    # a lost connection is an outage (503), a statement timeout a 504; never a 500
    app.add_exception_handler(psycopg2.OperationalError, _db_down)
    app.add_exception_handler(psycopg2.InterfaceError, _db_down)

    @app.exception_handler(DBAPIError)
    async def _dbapi(req: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            return await _db_down(req, exc)
        log.exception("database error")
        return JSONResponse(
            {"error": {"code": "internal_error", "message": "internal error; nothing was stored"}},
            status_code=500,
        )

    @app.exception_handler(Exception)
    async def _any(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            {"error": {"code": "internal_error", "message": "internal error"}}, status_code=500
        )
