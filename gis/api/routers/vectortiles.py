"""Vector tiles (Mapbox Vector Tile, from PostGIS ST_AsMVT) and their TileJSON:
``/tiles/{layer}/{z}/{x}/{y}.pbf`` and ``/tiles/{layer}.json``.

Grids, units and buildings are public (no token, like the basemap: a map's tile requests
often carry no header; grid outlines are public on the resident page already, units and
footprints name no person) and cached by shared caches, revalidated by ETag. Cameras
(security infrastructure) and events (only the caller's area) need a token in a header —
``Authorization: Bearer``, HTTP basic auth with the token as the password, or
``X-API-Token`` — never in the URL, where proxies and access logs would keep it; their
answers are ``private``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from gis.access import auth
from gis.api import deps
from gis.api.tiles_models import TileJSON
from gis.interop import features, tiles
from gis.interop.features import Scope

router = APIRouter(prefix="/tiles", tags=["vector tiles"])
MVT = "application/vnd.mapbox-vector-tile"
PUBLIC_MAX_AGE_S = 300  # territory, buildings: then revalidated by ETag (304)
CAMERAS_MAX_AGE_S = 300
EVENTS_MAX_AGE_S = 30  # events change by the minute
WORLD = [-180.0, -85.0511287798066, 180.0, 85.0511287798066]


async def _scope(request: Request, lyr: tiles.Layer) -> Scope:
    """The caller's read scope; a token layer needs a valid token (401 else)."""
    if lyr.access == tiles.PUBLIC:
        return Scope(prefixes=[], department=None)  # public layers read no event
    who = await run_in_threadpool(deps.current, request)
    s = auth.read_scope(who)
    return Scope(s["scope_prefixes"], s["scope_department"])


def _cache_headers(lyr: tiles.Layer, etag: str | None) -> dict[str, str]:
    """Cache-Control (public or private), Vary for token layers, and the ETag."""
    if lyr.access == tiles.PUBLIC:
        headers = {"Cache-Control": f"public, max-age={PUBLIC_MAX_AGE_S}"}
    else:
        age = EVENTS_MAX_AGE_S if lyr.id == "events" else CAMERAS_MAX_AGE_S
        headers = {"Cache-Control": f"private, max-age={age}", "Vary": "Authorization"}
    return headers | ({"ETag": etag} if etag else {})


def _fresh(request: Request, etag: str | None) -> bool:
    """True when the client's If-None-Match already names ``etag``."""
    given = request.headers.get("if-none-match")
    if not etag or not given:
        return False
    tags = {t.strip().removeprefix("W/") for t in given.split(",")}
    return "*" in tags or etag in tags


@router.get("/{layer}/{z}/{x}/{y}.pbf", response_class=Response, include_in_schema=False,
            summary="A vector tile (MVT) of grids, units, buildings, cameras or events")
async def vector_tile(request: Request, layer: str, z: int = PathParam(ge=0, le=tiles.MAX_ZOOM),
                      x: int = PathParam(ge=0), y: int = PathParam(ge=0),
                      engine: Engine = Depends(deps.read_engine)) -> Response:
    """The tile's MVT bytes; 204 for an empty tile; 304 when If-None-Match is current."""
    lyr = tiles.layer(layer)
    scope = await _scope(request, lyr)
    at = tiles.TileAddress(z, x, y)
    if lyr.etag == tiles.TERRITORY:  # answered without drawing when the client is current
        version = await run_in_threadpool(tiles.territory_version, engine)
        if _fresh(request, version):
            return Response(status_code=304, headers=_cache_headers(lyr, version))
    tile = await run_in_threadpool(tiles.render, engine, lyr, at, scope)
    headers = _cache_headers(lyr, tile.etag)
    if _fresh(request, tile.etag):
        return Response(status_code=304, headers=headers)
    if not tile.data:
        return Response(status_code=204, headers=headers)
    return Response(tile.data, media_type=MVT, headers=headers)


@router.get("/{layer}.json", response_model=TileJSON, summary="TileJSON 3.0.0 of a tile layer")
async def tilejson(request: Request, layer: str, response: Response,
                   engine: Engine = Depends(deps.read_engine)) -> TileJSON:
    """Where the layer's tiles are, their zooms, the active district's bounds and fields."""
    lyr = tiles.layer(layer)
    await _scope(request, lyr)
    bounds = await run_in_threadpool(features.district_extent, engine) or WORLD
    base = str(request.base_url).rstrip("/") + router.prefix
    response.headers.update(_cache_headers(lyr, None))
    center = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 13.0]
    return TileJSON(
        tilejson="3.0.0", name=f"wangge-{lyr.id}", description=lyr.description,
        version="1.0.0", scheme="xyz", tiles=[f"{base}/{lyr.id}/{{z}}/{{x}}/{{y}}.pbf"],
        minzoom=lyr.minzoom, maxzoom=tiles.DATA_MAX_ZOOM, bounds=bounds, center=center,
        vector_layers=[{"id": lyr.id, "description": lyr.description,
                        "minzoom": lyr.minzoom, "maxzoom": tiles.DATA_MAX_ZOOM,
                        "fields": lyr.fields}])
