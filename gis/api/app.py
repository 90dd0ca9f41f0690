"""``create_app(settings)``: the FastAPI application, one router per resource."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from gis import auth
from gis.api import docs, errors
from gis.api.guards import CatchAll, InputGuard
from gis.api.limits import BodyLimit
from gis.api.params import PUBLIC_ERRORS, TOKEN_ERRORS
from gis.api.routers import events, grids, locate, meta, patrols
from gis.db import get_engine
from gis.locator import Locator
from gis.plugins import import_optional
from gis.settings import Settings

log = logging.getLogger(__name__)

# Endpoints taking files: their bodies may reach WANGGE_MAX_UPLOAD_BYTES (others: max_body).
UPLOAD_PATHS = ("/api/v1/boundaries",)

# Routers of other packages, mounted when they are installed: (module, attribute).
OPTIONAL_ROUTERS = [
    ("boundaries.api", "router"),
    ("etl.api", "router"),
    ("gis.api.routers.workflow", "router"),
]


def create_app(settings: Settings, listen: bool = True) -> FastAPI:
    """Build the API for ``settings``; the locator listens for boundary changes."""
    engine = get_engine(settings)
    locator = Locator(engine, settings.outside_max_distance_m, settings.locator_poll_s)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if listen:
            locator.start_listener()
        try:
            locator.refresh(force=True)
        except Exception:  # the API still starts; requests get 503 until the DB is back
            log.warning("database not reachable at start-up; will retry on demand")
        yield
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
    errors.install(app, settings.retry_after_s)
    docs.install(app)
    # inside the body limit; path templates from the OpenAPI document name a bad path part
    app.add_middleware(InputGuard, paths=lambda: list(app.openapi()["paths"]))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       limits={path: settings.max_upload_bytes for path in UPLOAD_PATHS})
    for r in (locate.router, meta.router):
        app.include_router(r, responses=PUBLIC_ERRORS)
    for r in (events.router, grids.router, patrols.router):  # token required (auth_required)
        app.include_router(r, dependencies=[Depends(auth.require_token)],
                           responses=TOKEN_ERRORS)
    for module, attr in OPTIONAL_ROUTERS:
        mod = import_optional(module)
        if mod is None:
            continue
        if module == "boundaries.api":
            dependencies = [Depends(auth.require_planner_for_writes)]
        elif module == "etl.api":  # camera positions are not public
            dependencies = [Depends(auth.require_token)]
        else:
            dependencies = []
        app.include_router(getattr(mod, attr), dependencies=dependencies,
                           responses=TOKEN_ERRORS)
    app.add_middleware(CatchAll)  # outermost: a crash is a 500 answer, never a dropped link
    return app
