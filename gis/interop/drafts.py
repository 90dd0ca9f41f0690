"""Editing a draft generation's grids and units (OGC API – Features Part 4).

A planner opens a draft (a copy of the active generation), edits its grids and units as
layers in QGIS, and then imports it like a file (``wangge boundaries import-draft``): the
same validation, preview and ``--commit``. The active generation is never written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from sqlalchemy import Connection, Engine

from gis.db.queries import q
from gis.errors import BadQueryParameter, Conflict, NotFound
from gis.interop.crs import ServedCrs
from gis.territory import activation as act
from gis.territory import generations

SQL, PKG = "drafts.sql", "gis.interop.sql"
SOURCE = "ogc-draft"
LEVELS = {"draft_grids": "grid", "draft_units": "unit"}
PARENT = {"grid": "community_code", "unit": "grid_code"}


@dataclass(frozen=True)
class DraftFeature:
    """A grid or unit as written to the draft: code, name, parent code, kind, WKB (WGS84)."""

    code: str
    name: str
    parent: str
    kind: str
    wkb: bytes


def open_draft(conn: Connection) -> int | None:
    """The draft being edited (the newest one made for editing), or None."""
    return conn.execute(q(SQL, "open_draft", PKG)).scalar()


def new_draft(engine: Engine, description: str = "") -> int:
    """A new draft: a copy of the active generation; refused while another is open."""
    with engine.begin() as conn:
        act.lock(conn)
        if (existing := open_draft(conn)) is not None:
            raise Conflict(f"草稿 {existing} 尚未导入或放弃 (draft {existing} is still open)",
                           code="draft_open")
        active = generations.active_generation(conn)
        if active is None:
            raise Conflict("没有生效的边界 (no active generation to copy)", code="no_active")
        gen = generations.create_generation(conn, description or "QGIS draft", SOURCE)
        generations.copy_generation(conn, active, gen)
    return gen


def discard(conn: Connection, generation_id: int) -> None:
    """Close a draft (after its import, or when given up)."""
    conn.execute(q(SQL, "discard_draft", PKG), {"g": generation_id})


def _to_wgs84(geom: Any, crs: ServedCrs) -> Any:
    """A geometry in ``crs`` as WGS84 longitude/latitude (CGCS2000 taken as WGS84)."""
    if crs.lat_first:
        geom = shapely.transform(geom, lambda c: c[:, ::-1])
    if crs.srid == 3857:
        tr = Transformer.from_crs(3857, 4326, always_xy=True)
        geom = shapely.transform(geom, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    return geom


def _bad(field: str, reason: str) -> BadQueryParameter:
    """A refused feature (a bad parameter, as the standard answers it)."""
    return BadQueryParameter.field(field, reason, code="invalid_feature")


def parse(level: str, body: Any, crs: ServedCrs, fid: str | None = None) -> DraftFeature:
    """A GeoJSON Feature checked for the draft: a polygon, a code, a name and a parent."""
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise _bad("body", "须为 GeoJSON Feature (must be a GeoJSON Feature)")
    props = body.get("properties") or {}
    code = str(props.get("code") or fid or body.get("id") or "")
    if fid is not None and code != fid:
        raise _bad("properties.code", f"与地址中的编码不符 (differs from the path: {fid})")
    try:
        geom = shape(body.get("geometry") or {})
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException):
        raise _bad("geometry", "不是有效的 GeoJSON 几何 (not a GeoJSON geometry)") from None
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise _bad("geometry", f"须为面 (must be a Polygon or MultiPolygon), got {geom.geom_type}")
    parent = str(props.get(PARENT[level]) or "")
    if not code or not parent:
        raise _bad("properties", f"须有 code 与 {PARENT[level]} (code and {PARENT[level]} needed)")
    if not code.startswith(parent) or len(code) <= len(parent):
        raise _bad("properties.code", f"{code!r} 须以上级编码 {parent!r} 开头 (must start with "
                   "its parent's code)")
    return DraftFeature(code, str(props.get("name") or code), parent,
                        str(props.get("kind") or "basic"),
                        shapely.to_wkb(_to_wgs84(geom, crs), include_srid=False))


def _draft(conn: Connection) -> int:
    """The open draft; none → NotFound (there is nothing to edit)."""
    gen = open_draft(conn)
    if gen is None:
        raise NotFound("没有正在编辑的草稿 (no open draft: `wangge boundaries draft`)",
                       code="no_draft")
    return gen


def _binds(gen: int, f: DraftFeature) -> dict[str, Any]:
    """The bound parameters of an insert or replace."""
    return {"g": gen, "code": f.code, "name": f.name, "parent": f.parent, "kind": f.kind,
            "wkb": f.wkb}


def _check_parent(conn: Connection, gen: int, level: str, f: DraftFeature) -> None:
    """The parent must be in the draft, and the code not another level's."""
    if not conn.execute(q(SQL, f"parent_exists_{level}", PKG), {"g": gen, "parent": f.parent}
                        ).scalar():
        raise _bad(f"properties.{PARENT[level]}", f"草稿中没有上级 {f.parent!r} (no such parent "
                   "in the draft)")
    other = conn.execute(q(SQL, "area_level", PKG), {"code": f.code}).scalar()
    if other not in (None, level):
        raise _bad("properties.code", f"{f.code!r} 已是{other}的编码 (already a {other} code)")


def create(engine: Engine, level: str, f: DraftFeature) -> str:
    """Add a grid or unit to the draft; its code must be new there."""
    with engine.begin() as conn:
        gen = _draft(conn)
        _check_parent(conn, gen, level, f)
        conn.execute(q(SQL, "ensure_area", PKG), {"code": f.code, "level": level})
        if conn.execute(q(SQL, f"insert_{level}", PKG), _binds(gen, f)).scalar() is None:
            raise Conflict(f"草稿中已有 {f.code!r} (already in the draft)", code="exists")
    return f.code


def replace(engine: Engine, level: str, f: DraftFeature) -> None:
    """Replace a grid or unit of the draft (geometry, name, parent, kind)."""
    with engine.begin() as conn:
        gen = _draft(conn)
        _check_parent(conn, gen, level, f)
        if conn.execute(q(SQL, f"replace_{level}", PKG), _binds(gen, f)).scalar() is None:
            raise NotFound(f"草稿中没有 {f.code!r} (not in the draft)", code="not_found")


def delete(engine: Engine, level: str, code: str) -> None:
    """Remove a grid (once it has no units) or a unit from the draft."""
    with engine.begin() as conn:
        gen = _draft(conn)
        if level == "grid":
            n = conn.execute(q(SQL, "units_of_grid", PKG), {"g": gen, "code": code}).scalar()
            if n:
                raise Conflict(f"网格 {code} 还有 {n} 个最小单元: 先删除或改挂它们 (the grid "
                               f"still has {n} units: delete or move them first)",
                               code="grid_has_units")
        if conn.execute(q(SQL, f"delete_{level}", PKG), {"g": gen, "code": code}
                        ).scalar() is None:
            raise NotFound(f"草稿中没有 {code!r} (not in the draft)", code="not_found")
