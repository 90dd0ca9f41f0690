"""The platform's HTTP API: gis's routers with those of boundaries and etl mounted."""

from __future__ import annotations

from fastapi import Depends, FastAPI

import boundaries.api
import etl.api
from gis.api import app as gis_app
from gis.api import deps
from gis.settings import Settings


def create_app(settings: Settings, listen: bool = True) -> FastAPI:
    """The whole API for ``settings`` (what ``wangge serve`` runs)."""
    return gis_app.create_app(settings, listen, mounts=[
        gis_app.Mount(boundaries.api.router, [Depends(deps.require_planner_for_writes)],
                      upload_paths=("/api/v1/boundaries",)),
        gis_app.Mount(etl.api.router, [Depends(deps.require_token)]),  # cameras are not public
    ])
