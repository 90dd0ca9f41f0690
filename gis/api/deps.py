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
from gis.db.engine import get_heavy_read_engine, read_router
from gis.errors import Busy, Forbidden, Unauthorized
from gis.intake.groupcommit import GroupCommit
from gis.media.store import MediaStore
from gis.settings import Settings
from gis.territory.locator import Locator


async def engine(request: Request) -> Engine:
    """The app's engine."""
    return request.app.state.engine


async def read_engine(request: Request) -> Engine:
    """The engine of read-only endpoints: the replica's while it is up and close behind,
    else the app's (as ``gis.db.engine.get_read_engine``). Never for a write, nor for a
    read that must see the caller's own last write (use ``engine`` there)."""
    router = read_router(request.app.state.settings)
    if router is None:
        return request.app.state.engine
    if not router.checked:  # the first check waits for the servers: not in the event loop
        await run_in_threadpool(router.check)
    return router.replica if router.use_replica() else request.app.state.engine


async def intake_batcher(request: Request) -> GroupCommit | None:
    """The app's group commit of event reports (None when ``group_commit`` is off)."""
    state = request.app.state
    if not getattr(state.settings, "group_commit", True):
        return None
    batcher = getattr(state, "intake_batcher", None)
    if batcher is None:
        batcher = state.intake_batcher = GroupCommit(state.engine)
    return batcher


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
    """The heavy-read engine, held through one of ``heavy_pool_size`` slots; on the replica
    while reads go there (``get_heavy_read_engine``): heavy reads are statistics, never
    someone's last write.

    A request waits for its slot here, in the event loop, so heavy reads queued behind each
    other hold neither a worker thread nor a connection of the pool event intake uses.
    """
    settings: Settings = request.app.state.settings
    router = read_router(settings)
    if router is not None and not router.checked:
        await run_in_threadpool(router.check)
    slots = _heavy_slots(request)
    acquired = False
    with anyio.move_on_after(settings.heavy_wait_s):
        await slots.acquire()
        acquired = True
    if not acquired:
        raise Busy("too many heavy reads at once; retry later")
    try:
        yield get_heavy_read_engine(settings)
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


# Writes whose storing statement checks the caller's token again (gis.intake.groupcommit):
# with group commit on, their caller may come from the short token cache (auth.TokenCache).
RECHECKED_AT_COMMIT = frozenset({("POST", "/api/v1/events")})


async def _caller(request: Request) -> Principal:
    """``current`` in a worker thread; for a RECHECKED_AT_COMMIT write, the principal of a
    token checked in the last ``auth.TOKEN_CACHE_S`` seconds, named in
    ``request.state.recheck_token`` for the storing statement to check again."""
    settings, engine = request.app.state.settings, request.app.state.engine
    if ((request.method, request.url.path) not in RECHECKED_AT_COMMIT
            or not getattr(settings, "group_commit", True)):
        return await run_in_threadpool(current, request)
    token = _bearer(request)
    p = auth.token_cache.get(engine, token)
    if p is None:
        p = await run_in_threadpool(current, request)
        auth.token_cache.put(engine, token, p)
        return p
    request.state.principal = p
    request.state.recheck_token = p.token_id
    return p


async def token_refused(request: Request, err: Unauthorized) -> None:
    """A cached token the storing statement refused (revoked or expired since): forgotten,
    and the refusal audited as ``current`` audits it."""
    engine = request.app.state.engine
    auth.token_cache.drop(engine, _bearer(request))
    await run_in_threadpool(auth.audit_now, engine, None,
                            f"{request.method} {request.url.path}", None, "denied",
                            {"code": err.code})


async def require_token(request: Request) -> Principal:
    """Dependency for core routers: a valid token; writes are audited; planners only read.

    The token is checked against the database on every request (``auth.authenticate``), but
    for event reports with group commit on, whose storing statement checks it again.
    """
    if not getattr(request.app.state.settings, "auth_required", True):
        request.state.principal = auth.ANONYMOUS
        p = auth.ANONYMOUS
    else:
        p = await _caller(request)
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
