"""Basemap tiles from a local MBTiles or PMTiles file (offline districts):
``/tiles/basemap/{z}/{x}/{y}``.

Public (no token): Leaflet's tile requests cannot carry a bearer header, and a basemap holds
no platform data."""

from __future__ import annotations

import gzip
import mmap
import sqlite3
import struct
from pathlib import Path

from fastapi import APIRouter, Depends, Response
from fastapi import Path as PathParam
from pmtiles.reader import Reader
from pmtiles.tile import Compression, TileType

from gis.api import deps
from gis.db.queries import q
from gis.errors import NotFound
from gis.settings import Settings

router = APIRouter(prefix="/tiles", tags=["basemap"])

MAX_AGE_S = 86_400
_PM_TYPES = {TileType.PNG: "image/png", TileType.JPEG: "image/jpeg",
             TileType.WEBP: "image/webp", TileType.AVIF: "image/avif",
             TileType.MVT: "application/x-protobuf"}
_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
          "pbf": "application/x-protobuf"}


def _missing() -> NotFound:
    """The one answer for a tile that is not there (or no basemap file at all)."""
    return NotFound("tile not found (瓦片不存在)", code="tile_not_found")


def read_pmtiles(file: Path, z: int, x: int, y: int) -> tuple[bytes, str]:
    """One XYZ tile and its media type from a PMTiles (v3) file."""
    try:  # an empty or foreign file is answered as a missing tile
        with file.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            reader = Reader(lambda offset, length: mm[offset:offset + length])
            header, data = reader.header(), reader.get(z, x, y)
    except (ValueError, KeyError, IndexError, struct.error):
        raise _missing() from None
    if not data:
        raise _missing()
    if header["tile_compression"] == Compression.GZIP:
        data = gzip.decompress(data)
    return bytes(data), _PM_TYPES.get(header["tile_type"], "application/octet-stream")


def read_tile(file: Path, z: int, x: int, y: int) -> tuple[bytes, str]:
    """One XYZ tile and its media type from an MBTiles file (its rows are TMS: flipped) or,
    by its suffix, a PMTiles file."""
    if not file.is_file():
        raise _missing()
    if file.suffix.lower() == ".pmtiles":
        return read_pmtiles(file, z, x, y)
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
            summary="A basemap tile from the local MBTiles/PMTiles file (WANGGE_BASEMAP_FILE)")
def basemap_tile(z: int = PathParam(ge=0, le=24), x: int = PathParam(ge=0),
                 y: int = PathParam(ge=0),
                 settings: Settings = Depends(deps.settings)) -> Response:
    """The tile's stored bytes, cacheable for a day; 404 ``tile_not_found`` when absent."""
    if not settings.basemap_file or x >= (1 << z) or y >= (1 << z):
        raise _missing()
    data, media_type = read_tile(Path(settings.basemap_file), z, x, y)
    return Response(data, media_type=media_type,
                    headers={"Cache-Control": f"public, max-age={MAX_AGE_S}"})
