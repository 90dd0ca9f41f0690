"""FastAPI dependencies: the engine, the locator, the settings and the caller of this app.

They are `async` so that FastAPI does not hop to a worker thread to run them.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import anyio
from fastapi import Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from gis import calendar
from gis.access import auth
from gis.access.auth import Principal
from gis.calendar import Calendar
from gis.db.engine import get_heavy_engine
from gis.errors import Busy, Forbidden, Unauthorized
from gis.media.store import MediaStore
from gis.settings import Settings
from gis.territory.locator import Locator


async def engine(request: Request) -> Engine:
    """The app's engine."""
    return request.app.state.engine


async def locator(request: Request) -> Locator:
    """The app's locator."""
    return request.app.state.locator


async def settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


async def district_calendar(request: Request) -> Calendar:
    """The district calendar of the app's settings (working hours, holidays, 调休)."""
    return calendar.district(request.app.state.settings)


async def media(request: Request) -> MediaStore:
    """The app's media store (photos and voice notes by content hash)."""
    return request.app.state.media


def _heavy_slots(request: Request) -> anyio.Semaphore:
    """The app's slots for heavy reads (one per connection of the heavy pool)."""
    state = request.app.state
    slots = getattr(state, "heavy_slots", None)
    if slots is None:
        slots = state.heavy_slots = anyio.Semaphore(state.settings.heavy_pool_size)
    return slots


async def heavy_engine(request: Request) -> AsyncIterator[Engine]:
    """The heavy-read engine, held through one of ``heavy_pool_size`` slots.

    A request waits for its slot here, in the event loop, so heavy reads queued behind each
    other hold neither a worker thread nor a connection of the pool event intake uses.
    """
    settings: Settings = request.app.state.settings
    slots = _heavy_slots(request)
    acquired = False
    with anyio.move_on_after(settings.heavy_wait_s):
        await slots.acquire()
        acquired = True
    if not acquired:
        raise Busy("too many heavy reads at once; retry later")
    try:
        yield get_heavy_engine(settings)
    finally:
        slots.release()


def _bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, of HTTP basic auth (the token as the
    password, any user name: what QGIS and GDAL send), or of X-API-Token."""
    h = request.headers.get("authorization", "")
    if h.lower().startswith("bearer "):
        return h[7:].strip() or None
    if h.lower().startswith("basic "):
        try:
            pair = base64.b64decode(h[6:].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        return pair.partition(":")[2] or None
    return request.headers.get("x-api-token") or None


# What a session whose account must still change its initial password may call.
PASSWORD_CHANGE_PATHS = frozenset({("GET", "/api/v1/me"), ("POST", "/api/v1/me/password"),
                                   ("DELETE", "/api/v1/session")})


def current(request: Request) -> Principal:
    """The caller, 401 without a valid token (unless auth is turned off).

    The one place the caller is resolved: a session of an account that must change its
    password gets 403 ``password_change_required`` except on ``PASSWORD_CHANGE_PATHS``.
    """
    settings = request.app.state.settings
    engine = request.app.state.engine
    if not getattr(settings, "auth_required", True):
        request.state.principal = auth.ANONYMOUS
        return auth.ANONYMOUS
    try:
        p = auth.authenticate(engine, _bearer(request))
    except Unauthorized as e:
        auth.audit_now(engine, None, f"{request.method} {request.url.path}", None, "denied",
                       {"code": e.code})
        raise
    if p.must_change_password and (request.method, request.url.path) not in PASSWORD_CHANGE_PATHS:
        auth.audit_now(engine, p, f"{request.method} {request.url.path}", None, "denied",
                       {"code": "password_change_required"})
        raise Forbidden("请先修改初始密码 (change your initial password first: POST "
                        "/api/v1/me/password)", code="password_change_required")
    request.state.principal = p
    return p


async def require_token(request: Request) -> Principal:
    """Dependency for core routers: a valid token; writes are audited; planners only read.

    The token is checked against the database on every request (``auth.authenticate``).
    """
    if not getattr(request.app.state.settings, "auth_required", True):
        request.state.principal = auth.ANONYMOUS
        p = auth.ANONYMOUS
    else:
        p = await run_in_threadpool(current, request)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        engine = request.app.state.engine
        if p.role == "planner":
            await run_in_threadpool(
                auth.audit_now, engine, p, f"{request.method} {request.url.path}", None, "denied",
                {"code": "wrong_role"})
            raise Forbidden("planners may not report events or tracks", code="wrong_role")
        # departments may report events (source "department"); check_track_worker
        # refuses their tracks
        # the write itself is audited inside its own transaction (gis.intake.events, .patrols)
    return p


def require_planner_for_writes(request: Request) -> Principal:
    """Dependency for the boundaries router: any token reads; planners and the centre write."""
    p = current(request)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        engine = request.app.state.engine
        try:
            auth.check_boundary_writer(p)
        except Forbidden as e:
            auth.audit_now(engine, p, f"{request.method} {request.url.path}", None, "denied",
                           {"code": e.code})
            raise
        auth.audit_now(engine, p, f"{request.method} {request.url.path}", None, "request", {})
    return p
