"""``create_app(settings, mounts)``: the FastAPI application of gis, one router per resource;
routers of the top-level packages are mounted by the caller (``wangge.app``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from gis.api import apps, deps, docs, errors
from gis.api.guards import CatchAll, InputGuard
from gis.api.limits import BodyLimit
from gis.api.params import PUBLIC_ERRORS, TOKEN_ERRORS
from gis.api.routers import (
    attachments,
    basemap,
    events,
    exports,
    features,
    grids,
    locate,
    me,
    meta,
    open311,
    patrols,
    resident,
    session,
    vectortiles,
    workbench,
    workflow,
)
from gis.db.engine import get_engine
from gis.media.store import open_store
from gis.settings import Settings
from gis.territory.locator import Locator
from gis.workflow import alerts

log = logging.getLogger(__name__)
# Multipart uploads with photos: WANGGE_MAX_UPLOAD_BYTES instead of the JSON body limit
UPLOAD_PATHS = ("/api/v1/events/{event_id}/attachments", "/api/v1/resident/reports")


@dataclass(frozen=True)
class Mount:
    """A router of another package, with the dependencies (access checks) it is mounted with
    and the paths whose bodies may reach WANGGE_MAX_UPLOAD_BYTES (others: max_body_bytes)."""

    router: APIRouter
    dependencies: Sequence[Any] = ()
    upload_paths: Sequence[str] = field(default_factory=tuple)


def create_app(settings: Settings, listen: bool = True, mounts: Sequence[Mount] = ()) -> FastAPI:
    """Build the API for ``settings``; the locator listens for boundary changes."""
    engine = get_engine(settings)
    locator = Locator(engine, settings.outside_max_distance_m, settings.locator_poll_s)

    outbox = alerts.DeliveryWorker(engine, settings)  # alert webhooks; off when none

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if listen:
            locator.start_listener()
        outbox.start()
        try:
            locator.refresh(force=True)
        except Exception:  # the API still starts; requests get 503 until the DB is back
            log.warning("database not reachable at start-up; will retry on demand")
        yield
        outbox.stop()
        locator.stop_listener()

    app = FastAPI(
        title="Wangge 网格 API",
        version="0.1.0",
        description="Grid governance: locate and store events, grids, patrols.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc from local assets (gis.api.docs): no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.locator = locator
    app.state.media = open_store(settings.media_url)
    errors.install(app, settings.retry_after_s)
    docs.install(app)
    # inside the body limit; path templates from the OpenAPI document name a bad path part
    app.add_middleware(InputGuard, paths=lambda: list(app.openapi()["paths"]))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       limits={path: settings.max_upload_bytes
                               for path in (*UPLOAD_PATHS, *(p for m in mounts
                                                            for p in m.upload_paths))})
    for r in (locate.router, meta.router, resident.router, basemap.router):  # no token
        app.include_router(r, responses=PUBLIC_ERRORS)
    # before events: /api/v1/events/export must not be taken for /api/v1/events/{event_id}
    app.include_router(exports.router, responses=TOKEN_ERRORS)  # checks its caller
    for r in (events.router, grids.router, patrols.router):  # token required (auth_required)
        app.include_router(r, dependencies=[Depends(deps.require_token)],
                           responses=TOKEN_ERRORS)
    app.include_router(workflow.router, responses=TOKEN_ERRORS)  # checks per endpoint
    app.include_router(session.router, responses=TOKEN_ERRORS)  # log-in needs no token
    for r in (me.router, attachments.router, workbench.router,  # each checks its caller
              features.router, vectortiles.router):  # vector tiles: per layer
        app.include_router(r, responses=TOKEN_ERRORS)
    app.include_router(open311.router)  # Open311 GeoReport v2: its own api_key and error list
    apps.install(app)
    for m in mounts:
        app.include_router(m.router, dependencies=list(m.dependencies), responses=TOKEN_ERRORS)
    app.add_middleware(CatchAll)  # outermost: a crash is a 500 answer, never a dropped link
    return app
