"""The collections OGC API – Features serves: titles, properties and their types."""

from __future__ import annotations

from dataclasses import dataclass, field

from gis.errors import NotFound

# JSON Schema type of each property (queryables, and the CQL2 filter's allowed names)
STRING, INTEGER, NUMBER, DATETIME = "string", "integer", "number", "date-time"


@dataclass(frozen=True)
class Collection:
    """One feature collection: its id, titles, geometry type and typed properties."""

    id: str
    title: str  # Chinese first, the English after a slash
    description: str
    geometry: str  # GeoJSON geometry type of its features (for queryables)
    properties: dict[str, str]
    temporal: str | None = None  # the property `datetime` filters on
    generational: bool = False  # territory: the active generation, or ?generation=
    scoped: bool = False  # only the caller's area
    editable: bool = False  # OGC API Part 4: the open draft's grids and units only
    keywords: tuple[str, ...] = field(default_factory=tuple)


_AREA = {"code": STRING, "name": STRING, "generation_id": INTEGER}
COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection("streets", "街道 / Streets", "街道（乡镇）辖区 — sub-district boundaries",
               "MultiPolygon", {**_AREA, "district_code": STRING}, generational=True),
    Collection("communities", "社区 / Communities", "社区（村）辖区 — community boundaries",
               "MultiPolygon", {**_AREA, "street_code": STRING}, generational=True),
    Collection("grids", "网格 / Grids", "网格 — the grids workers answer for", "MultiPolygon",
               {**_AREA, "community_code": STRING, "kind": STRING}, generational=True),
    Collection("units", "最小单元 / Units", "最小单元（1–3 栋楼）— minimal units",
               "MultiPolygon", {**_AREA, "grid_code": STRING}, generational=True),
    Collection("buildings", "楼栋 / Buildings", "建筑轮廓 — building footprints",
               "MultiPolygon", {"id": INTEGER, "source": STRING, "source_id": STRING,
                                "name": STRING, "address": STRING, "floors": INTEGER,
                                "height_m": NUMBER}),
    Collection("cameras", "摄像头 / Cameras", "视频监控点位 — camera positions", "Point",
               {"code": STRING, "name": STRING, "kind": STRING, "status": STRING,
                "direction_deg": NUMBER}),
    Collection("events", "事件 / Events", "事件（仅本人辖区）— events in the caller's area",
               "Point", {"id": INTEGER, "item_code": STRING, "item_name": STRING,
                         "source": STRING, "status": STRING, "level": STRING,
                         "reported_at": DATETIME, "due_at": DATETIME,
                         "street_code": STRING, "community_code": STRING,
                         "grid_code": STRING, "unit_code": STRING,
                         "location_status": STRING},
               temporal="reported_at", scoped=True),
    Collection("patrol_tracks", "巡查轨迹 / Patrol tracks",
               "巡查轨迹（仅本人辖区）— patrol tracks in the caller's area", "LineString",
               {"id": INTEGER, "worker_code": STRING, "grid_code": STRING,
                "started_at": DATETIME, "ended_at": DATETIME, "length_m": NUMBER},
               temporal="started_at", scoped=True),
    Collection("draft_grids", "网格（草稿）/ Draft grids",
               "正在编辑的草稿中的网格，可在 QGIS 中编辑 — the open draft's grids (editable)",
               "MultiPolygon", {**_AREA, "community_code": STRING, "kind": STRING},
               editable=True),
    Collection("draft_units", "最小单元（草稿）/ Draft units",
               "正在编辑的草稿中的最小单元，可编辑 — the open draft's units (editable)",
               "MultiPolygon", {**_AREA, "grid_code": STRING}, editable=True),
)}


def collection(collection_id: str) -> Collection:
    """The collection of this id; unknown → NotFound."""
    found = COLLECTIONS.get(collection_id)
    if found is None:
        raise NotFound(f"没有这个要素集合: {collection_id!r} (no such collection); 可用 "
                       f"(available): {', '.join(COLLECTIONS)}", code="no_such_collection")
    return found
