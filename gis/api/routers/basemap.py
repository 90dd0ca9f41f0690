"""Basemap tiles from a local MBTiles file (offline districts): ``/tiles/basemap/{z}/{x}/{y}``.

Public (no token): Leaflet's tile requests cannot carry a bearer header, and a basemap holds
no platform data. PMTiles files are not served yet (the ``pmtiles`` package is not installed)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi import APIRouter, Depends, Response
from fastapi import Path as PathParam

from gis.api import deps
from gis.db.queries import q
from gis.errors import NotFound
from gis.settings import Settings

router = APIRouter(prefix="/tiles", tags=["basemap"])

MAX_AGE_S = 86_400
_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
          "pbf": "application/x-protobuf"}


def _missing() -> NotFound:
    """The one answer for a tile that is not there (or no basemap file at all)."""
    return NotFound("tile not found (瓦片不存在)", code="tile_not_found")


def read_tile(file: Path, z: int, x: int, y: int) -> tuple[bytes, str]:
    """One XYZ tile and its media type from an MBTiles file (its rows are TMS: flipped)."""
    if not file.is_file():
        raise _missing()
    con = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = con.execute(q("basemap.sql", "tile", "gis.api.sql").text,
                          {"z": z, "x": x, "y": (1 << z) - 1 - y}).fetchone()
        fmt = con.execute(q("basemap.sql", "format", "gis.api.sql").text).fetchone()
    except sqlite3.DatabaseError:
        raise _missing() from None
    finally:
        con.close()
    if row is None or row[0] is None:
        raise _missing()
    return bytes(row[0]), _TYPES.get((fmt[0] if fmt else "png").lower(), "image/png")


@router.get("/basemap/{z}/{x}/{y}", response_class=Response, include_in_schema=False,
            summary="A basemap tile from the local MBTiles file (WANGGE_BASEMAP_FILE)")
def basemap_tile(z: int = PathParam(ge=0, le=24), x: int = PathParam(ge=0),
                 y: int = PathParam(ge=0),
                 settings: Settings = Depends(deps.settings)) -> Response:
    """The tile's stored bytes, cacheable for a day; 404 ``tile_not_found`` when absent."""
    if not settings.basemap_file or x >= (1 << z) or y >= (1 << z):
        raise _missing()
    data, media_type = read_tile(Path(settings.basemap_file), z, x, y)
    return Response(data, media_type=media_type,
                    headers={"Cache-Control": f"public, max-age={MAX_AGE_S}"})
