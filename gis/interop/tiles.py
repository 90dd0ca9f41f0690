"""Mapbox vector tiles from PostGIS (ST_AsMVT): the layers, their fields and one tile's bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from gis.db.queries import q
from gis.errors import NotFound
from gis.interop.features import Scope

PKG = "gis.interop.sql"
EXTENT, BUFFER = 4096, 64  # tile units; the buffer keeps symbols and strokes at tile edges
MAX_ZOOM = 22  # the deepest tile served
DATA_MAX_ZOOM = 16  # TileJSON's maxzoom: 0.13 m per tile unit, clients overzoom beyond
BIN_ZOOM = 15  # below it, events are counted per square bin instead of drawn one by one
BINS = 8  # bins per tile side (32 px squares on a 256 px tile)
PUBLIC, TOKEN = "public", "token"
TERRITORY, CONTENT, NONE = "territory", "content", "none"


@dataclass(frozen=True)
class Layer:
    """One tile layer: its fields (TileJSON types), zooms, who may read it and its ETag."""

    id: str
    description: str
    fields: dict[str, str]
    minzoom: int
    access: str  # PUBLIC (no token) or TOKEN (any valid token; events: the caller's area)
    etag: str  # TERRITORY (generation and revision), CONTENT (hash of the bytes) or NONE


LAYERS: dict[str, Layer] = {x.id: x for x in (
    Layer("grids", "网格（现行版本）— grids of the active generation",
          {"code": "String", "name": "String", "community_code": "String", "kind": "String"},
          10, PUBLIC, TERRITORY),
    Layer("units", "最小单元（现行版本）— minimal units of the active generation",
          {"code": "String", "name": "String", "grid_code": "String"}, 13, PUBLIC, TERRITORY),
    Layer("buildings", "楼栋 — building footprints",
          {"id": "Number", "name": "String", "floors": "Number", "height_m": "Number"},
          14, PUBLIC, CONTENT),
    Layer("cameras", "摄像头 — camera positions (token)",
          {"code": "String", "name": "String", "kind": "String", "status": "String",
           "direction_deg": "Number"}, 12, TOKEN, CONTENT),
    Layer("events", f"事件（仅本人辖区）— events in the caller's area; below zoom {BIN_ZOOM} one "
          f"point per square bin ({BINS}×{BINS} a tile) with its count",
          {"count": "Number", "id": "Number", "item_code": "String", "item_name": "String",
           "status": "String", "level": "String"}, 0, TOKEN, NONE),
)}


@dataclass(frozen=True)
class TileAddress:
    """An XYZ tile address inside the pyramid."""

    z: int
    x: int
    y: int

    def __post_init__(self) -> None:
        """NotFound ``tile_not_found`` for a column or row outside zoom z's 2^z."""
        if not (0 <= self.z <= MAX_ZOOM and 0 <= self.x < (1 << self.z)
                and 0 <= self.y < (1 << self.z)):
            raise NotFound(f"瓦片不存在 (no tile {self.z}/{self.x}/{self.y}: x and y must be "
                           f"below 2^z)", code="tile_not_found")


@dataclass(frozen=True)
class Tile:
    """A tile's MVT bytes (empty: no feature) and its ETag (None: not cached by version)."""

    data: bytes
    etag: str | None


def layer(layer_id: str) -> Layer:
    """The layer of this id; unknown → NotFound."""
    found = LAYERS.get(layer_id)
    if found is None:
        raise NotFound(f"没有这个图层: {layer_id!r} (no such layer); 可用 (available): "
                       f"{', '.join(LAYERS)}", code="no_such_layer")
    return found


def territory_version(engine: Engine) -> str:
    """The ETag of territory tiles: the active generation and the territory revision (bumped
    by every change of boundaries)."""
    with engine.connect() as conn:
        return _version(conn)


def _version(conn: Connection) -> str:
    """The territory ETag read on ``conn``."""
    gen, rev = conn.execute(q("tiles.sql", "territory_version", PKG)).one()
    return f'"t{gen or 0}-{rev}"'


def _statement(lyr: Layer, at: TileAddress, scope: Scope) -> tuple[str, dict[str, Any]]:
    """The named query of a tile and its bound parameters."""
    binds: dict[str, Any] = {"z": at.z, "x": at.x, "y": at.y, "extent": EXTENT,
                             "buffer": BUFFER, "margin": BUFFER / EXTENT}
    name = lyr.id
    if lyr.id == "events":
        binds |= {"scope_prefixes": None if scope.prefixes is None else list(scope.prefixes),
                  "scope_department": scope.department}
        if at.z < BIN_ZOOM:
            name, binds = "event_bins", {k: v for k, v in binds.items()
                                         if k not in ("buffer", "margin")} | {"bins": BINS}
    return name, binds


def render(engine: Engine, lyr: Layer, at: TileAddress, scope: Scope) -> Tile:
    """One tile of ``lyr`` (empty below the layer's minzoom); events only in ``scope``."""
    name, binds = _statement(lyr, at, scope)
    # one snapshot: a territory tile and the revision its ETag names agree
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        etag = _version(conn) if lyr.etag == TERRITORY else None
        data = b""
        if at.z >= lyr.minzoom:
            data = bytes(conn.execute(q("tiles.sql", name, PKG), binds).scalar() or b"")
    if lyr.etag == CONTENT:
        etag = f'"c{hashlib.sha256(data).hexdigest()[:32]}"'
    return Tile(data, etag)
