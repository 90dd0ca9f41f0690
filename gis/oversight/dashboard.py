"""Server-side queries of the commanders' live map: boundaries, binned heat, coverage, stats."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypedDict

from sqlalchemy import Connection, Engine, TextClause, text

from gis.access import scope as area_scope
from gis.clock import today_start as today_start  # the live map's "today"
from gis.db import tally
from gis.db.queries import named, q
from gis.intake.events import OPEN_STATUSES

SQL = "dashboard.sql"
PKG = "gis.oversight.sql"
BIN_PX = 28  # heat bin edge in screen pixels
UNIT_MIN_ZOOM = 14  # minimal units are drawn from this zoom on (only those in view)
EVENT_POINT_LIMIT = 500  # individual events are drawn when no more than this many are in view
CAMERA_CLUSTER_PX = 90  # camera cluster cell edge in screen pixels
CAMERA_DETAIL_ZOOM = 16  # individual cameras (with details) from this zoom on
CAMERA_FEW = 60  # ... or at any zoom when no more than this many cameras are in view
FAR_FUTURE = datetime(3000, 1, 1, tzinfo=UTC)
TALLY_ZOOM = 13  # heat bins up to this zoom are whole cells counted in event_tally (0015)
TALLY_CELL = 315 / 65536  # degrees: bin_size(TALLY_ZOOM) (the edge of a zoom-13 cell)
BBox = tuple[float, float, float, float]  # minlon, minlat, maxlon, maxlat


class FilterParams(TypedDict):
    """Bound parameters of the SQL filter block (``Filters.params``)."""

    since: datetime
    until: datetime
    classes: list[str] | None
    statuses: list[str] | None
    area: area_scope.Prefixes
    scope_prefixes: area_scope.Prefixes
    overdue: bool
    open: list[str]


class BinSize(NamedTuple):
    """A square heat bin's edges in degrees (``bin_size``)."""

    lon: float
    lat: float


class Extent(TypedDict):
    """Bounding box of the active grids and the active generation (``extent``)."""

    minlon: float
    minlat: float
    maxlon: float
    maxlat: float
    generation: int


class AreaOption(TypedDict):
    """A street, community or grid the filters offer (``parent``: the enclosing area)."""

    level: str
    code: str
    name: str | None
    parent: str | None


class ClassOption(TypedDict):
    """An event class the filters offer."""

    code: str
    name: str
    name_zh: str | None


class FilterOptions(TypedDict):
    """Streets, communities, grids and event classes for the filters (``filter_options``)."""

    street: list[AreaOption]
    community: list[AreaOption]
    grid: list[AreaOption]
    classes: list[ClassOption]


class MapGrid(TypedDict):
    """An active grid on the map with its responsible worker and GeoJSON geometry."""

    code: str
    name: str | None
    kind: str | None
    community_code: str
    community_name: str | None
    street_code: str
    street_name: str | None
    worker_code: str | None
    worker_name: str | None
    role: str | None
    geometry: dict[str, Any]


class MapUnit(TypedDict):
    """A minimal unit on the map (GeoJSON geometry)."""

    code: str
    name: str | None
    grid_code: str
    geometry: dict[str, Any]


class MapBuilding(TypedDict):
    """A building on the map without a basemap (GeoJSON geometry)."""

    id: int
    name: str | None
    address: str | None
    floors: int | None
    geometry: dict[str, Any]


class EventBin(TypedDict):
    """One heat bin: its bounds, events and open events."""

    minlon: float
    minlat: float
    maxlon: float
    maxlat: float
    n: int
    open: int


class EventBins(TypedDict):
    """Events in view counted in bins (``event_bins``)."""

    cellx: float
    celly: float
    total: int
    bins: list[EventBin]


class MapEvent(TypedDict):
    """One event drawn on the map, with its details (``events``)."""

    id: int
    item_code: str
    item_name: str
    item_name_zh: str | None
    class_code: str
    source: str
    status: str
    level: str
    reported_at: datetime
    due_at: datetime | None
    grid_code: str | None
    unit_code: str | None
    description: str | None
    address: str | None
    lon: float | None
    lat: float | None
    overdue: bool


class OverdueEvent(TypedDict):
    """An open event past its time limit, with how late it is and its worker (``overdue``)."""

    id: int
    item_code: str
    item_name: str
    item_name_zh: str | None
    grid_code: str | None
    due_at: datetime
    hours_late: float
    level: str
    status: str
    worker_code: str | None
    worker_name: str | None


class MapCamera(TypedDict):
    """A camera on the map (``cameras_in_view``)."""

    code: str
    name: str | None
    kind: str | None
    status: str
    direction_deg: float | None
    lon: float
    lat: float


class CameraNearEvent(MapCamera):
    """A camera near an event, with its distance (m)."""

    distance_m: float


class CameraCluster(TypedDict):
    """Cameras of one cell: count, offline count, centroid, one camera's code."""

    lon: float
    lat: float
    n: int
    offline: int
    code: str


class CameraClusters(TypedDict):
    """Cameras in view aggregated into cells (``camera_clusters``)."""

    cellx: float
    celly: float
    total: int
    clusters: list[CameraCluster]


class CameraLayer(TypedDict):
    """What the map draws for the cameras in view (``camera_layer``)."""

    mode: str
    total: int
    offline: int
    cameras: list[MapCamera]
    clusters: list[CameraCluster]


class GridPatrolCoverage(TypedDict):
    """A grid's units, those patrolled in the period, and the share."""

    units: int
    covered: int
    share: float


class MapTrack(TypedDict):
    """A patrol track on the map (2D GeoJSON) with its worker."""

    id: int
    worker_code: str
    worker_name: str
    grid_code: str | None
    started_at: datetime
    ended_at: datetime
    length_m: float
    geometry: dict[str, Any]


class GridPersonBrief(TypedDict):
    """A person holding a role in a grid (code, name, role)."""

    code: str
    name: str
    role: str


class GridStats(TypedDict):
    """A grid's backlog, period figures, patrol coverage and people (``grid_stats``)."""

    code: str
    name: str | None
    kind: str | None
    community: str | None
    street: str | None
    responsible: str | None
    responsible_code: str | None
    open: int
    overdue: int
    closed: int
    reported: int
    units: int
    units_patrolled: int
    coverage: float
    people: list[GridPersonBrief]


class WorkerStats(TypedDict):
    """A worker's roles, reports, open events assigned, patrols and km (``worker_stats``)."""

    code: str
    name: str
    active: bool
    roles: str | None
    reports: int
    assigned_open: int
    patrols: int
    patrol_km: float
    last_patrol: datetime | None


@dataclass(frozen=True)
class Filters:
    """Event filters shared by every map query."""

    since: datetime
    until: datetime = FAR_FUTURE
    classes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    area: str | None = None  # street, community or grid code (codes nest by prefix)
    overdue_only: bool = False
    scope: tuple[str, ...] | None = None  # code prefixes the viewer may see; None: everything

    def params(self) -> FilterParams:
        """Bound parameters for the SQL filter block."""
        return {"since": self.since, "until": self.until,
                "classes": list(self.classes) or None, "statuses": list(self.statuses) or None,
                "area": area_scope.area_prefixes(self.area),
                "scope_prefixes": _prefixes(self.scope), "overdue": self.overdue_only,
                "open": list(OPEN_STATUSES)}


def metres_to_deg(metres: float, lat: float) -> float:
    """A generous degree margin covering ``metres`` at latitude ``lat`` (for && prefilters)."""
    return 1.5 * metres / (111_320.0 * max(math.cos(math.radians(abs(lat))), 0.05))


def zoom_for_bbox(bbox: BBox, width_px: int = 1000, height_px: int = 600) -> int:
    """The largest web-map zoom at which ``bbox`` fits into the given pixel size."""
    minlon, minlat, maxlon, maxlat = bbox
    dx = max(maxlon - minlon, 1e-6)
    lat = math.radians((minlat + maxlat) / 2)
    dy = max(maxlat - minlat, 1e-6) / max(math.cos(lat), 0.05)
    z = min(math.log2(360 * width_px / (256 * dx)), math.log2(360 * height_px / (256 * dy)))
    return max(1, min(19, int(math.floor(z))))


def bin_size(zoom: float, lat: float, px: int = BIN_PX) -> BinSize:
    """Square heat bin (degrees lon, degrees lat) about ``px`` screen pixels wide at ``zoom``."""
    cellx = 360.0 / (256 * 2 ** zoom) * px
    return BinSize(cellx, cellx * max(math.cos(math.radians(lat)), 0.05))


def ping(engine: Engine) -> None:
    """Raise when the database does not answer."""
    with engine.connect() as conn:
        conn.execute(q(SQL, "ping", PKG))


def extent(engine: Engine, scope: tuple[str, ...] | None = None) -> Extent | None:
    """Bounding box of the active grids (in ``scope``), or None when there are none."""
    with engine.connect() as conn:
        r = conn.execute(q(SQL, "extent", PKG),
                         {"scope_prefixes": _prefixes(scope)}).mappings().first()
    if r is None or r["minlon"] is None:
        return None
    return Extent(**r)


def filter_options(engine: Engine) -> FilterOptions:
    """Streets, communities, grids (code, name, parent) and event classes for the filters."""
    with engine.connect() as conn:
        areas = [dict(r) for r in conn.execute(q(SQL, "options_areas", PKG)).mappings()]
        classes = [dict(r) for r in conn.execute(q(SQL, "options_classes", PKG)).mappings()]
    out: dict[str, Any] = {"street": [], "community": [], "grid": [], "classes": classes}
    for a in areas:
        out[a["level"]].append(a)
    return FilterOptions(**out)


def grids(engine: Engine, scope: tuple[str, ...] | None = None) -> list[MapGrid]:
    """Active grids (those in ``scope``, None: all) with community, street, responsible worker
    and GeoJSON geometry."""
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "grids", PKG),
                            {"scope_prefixes": _prefixes(scope)}).mappings().all()
    return [dict(r) | {"geometry": json.loads(r["geometry"])} for r in rows]


def units(engine: Engine, bbox: BBox, limit: int = 5000, zoom: float | None = None,
          scope: tuple[str, ...] | None = None) -> list[MapUnit]:
    """Active minimal units intersecting ``bbox`` in grids of ``scope`` (None: all; GeoJSON);
    with ``zoom``, outlines are simplified to about half a screen pixel (exact without)."""
    tol = 0.5 * 360.0 / (256 * 2 ** zoom) if zoom is not None else 0.0
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "units", PKG), _bbox(bbox) | {
            "limit": limit, "tol": tol, "scope_prefixes": _prefixes(scope)}).mappings().all()
    return [dict(r) | {"geometry": json.loads(r["geometry"])} for r in rows]


def buildings(engine: Engine, bbox: BBox, limit: int = 3000,
              zoom: float | None = None) -> list[MapBuilding]:
    """Buildings intersecting ``bbox`` (GeoJSON geometry, simplified to ``zoom`` if given)."""
    tol = 0.5 * 360.0 / (256 * 2 ** zoom) if zoom is not None else 0.0
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "buildings", PKG), _bbox(bbox) | {"limit": limit, "tol": tol}
                            ).mappings().all()
    return [dict(r) | {"geometry": json.loads(r["geometry"])} for r in rows]


def event_bins(engine: Engine, filters: Filters, bbox: BBox, zoom: float) -> EventBins:
    """Events in ``bbox`` counted in square bins sized to ``zoom`` (never the raw points).

    Up to TALLY_ZOOM the bins are whole cells of degrees (``tally_cells``) read from the kept
    counts when only the window, the area and the scope filter; from zoom 14 on (a small view)
    the events in the box are counted one by one."""
    if zoom == int(zoom) and zoom <= TALLY_ZOOM:
        return _cell_bins(engine, filters, bbox, int(zoom))
    lat = (bbox[1] + bbox[3]) / 2
    cellx, celly = bin_size(zoom, lat)
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "event_bins", PKG), filters.params() | _bbox(bbox)
                            | {"cellx": cellx, "celly": celly}).all()
    return _bins(rows, cellx, celly)


def _bins(rows: Any, cellx: float, celly: float) -> EventBins:
    """EventBins of (ix, iy, n, n_open) rows."""
    bins = [{"minlon": r.ix * cellx, "minlat": r.iy * celly, "maxlon": (r.ix + 1) * cellx,
             "maxlat": (r.iy + 1) * celly, "n": int(r.n), "open": int(r.n_open)}
            for r in sorted(rows, key=lambda r: (r.ix, r.iy))]
    return {"cellx": cellx, "celly": celly, "total": sum(b["n"] for b in bins), "bins": bins}


def tallied(filters: Filters) -> bool:
    """Whether the kept counts answer these filters (window, area and scope only)."""
    return not (filters.classes or filters.statuses or filters.overdue_only)


def overdue_kept(filters: Filters) -> bool:
    """Whether the kept due counts (event_due_tally) answer the overdue count: the whole
    district only (no area, no scope); other views count their own open events."""
    return filters.area is None and filters.scope is None


def _floor(t: datetime, unit: timedelta) -> datetime:
    """``t`` rounded down to a whole ``unit`` (hour or day) in UTC."""
    u = t.astimezone(UTC)
    return u - (u - datetime(2000, 1, 1, tzinfo=UTC)) % unit


def _ceil(t: datetime, unit: timedelta) -> datetime:
    """``t`` rounded up to a whole ``unit`` in UTC."""
    f = _floor(t, unit)
    return f if f == t else f + unit


def tally_spans(since: datetime, until: datetime) -> dict[str, datetime]:
    """How the window [since, until) splits for event_tally: whole UTC days [d0, d1), the other
    whole hours [h0, ha) and [hb, h1), and the partial hours [since, ra) and [rb, until) read
    from the events (an empty range has its end not after its start)."""
    hour, day = timedelta(hours=1), timedelta(days=1)
    h0, h1 = _ceil(since, hour), _floor(until, hour)
    if h0 >= h1:  # no whole hour: every event of the window one by one
        return {"d0": since, "d1": since, "h0": since, "ha": since, "hb": since, "h1": since,
                "ra": until, "rb": until}
    d0, d1 = _ceil(since, day), _floor(until, day)
    if d0 >= d1:
        d0 = d1 = h0
    ha, hb = (d0, d1) if d0 < d1 else (h1, h1)
    return {"d0": d0, "d1": d1, "h0": h0, "ha": ha, "hb": hb, "h1": h1, "ra": h0, "rb": h1}


def tally_cells(bbox: BBox, zoom: int) -> dict[str, float | int]:
    """Bound parameters of the square bins at ``zoom`` (<= TALLY_ZOOM) overlapping ``bbox``:
    edge in degrees, shift of the zoom-13 cell index, index ranges."""
    shift = TALLY_ZOOM - zoom
    cellx = TALLY_CELL * 2 ** shift
    ix0, iy0 = math.floor(bbox[0] / TALLY_CELL) >> shift, math.floor(bbox[1] / TALLY_CELL) >> shift
    ix1, iy1 = math.floor(bbox[2] / TALLY_CELL) >> shift, math.floor(bbox[3] / TALLY_CELL) >> shift
    return {"cellx": cellx, "shift": shift, "ix0": ix0, "iy0": iy0, "ix1": ix1, "iy1": iy1}


def _cell_bins(engine: Engine, filters: Filters, bbox: BBox, zoom: int,
               use_tally: bool | None = None) -> EventBins:
    """Square-degree bins at ``zoom`` from the kept counts or the events (same numbers)."""
    cells = tally_cells(bbox, zoom)
    p = filters.params() | cells
    with engine.connect() as conn:
        if tallied(filters) if use_tally is None else use_tally:
            rows = _tally_rows(conn, filters, "tally_bins", p).all()
        else:
            rows = conn.execute(q(SQL, "event_bins_cells", PKG), p).all()
    return _bins(rows, cells["cellx"], cells["cellx"])


def tally_start(filters: Filters) -> datetime | None:
    """The start hour an open-ended window ([since, FAR_FUTURE): the live page's) is read
    from when it is kept (event_tally_from); None for other windows."""
    return _ceil(filters.since, timedelta(hours=1)) if filters.until >= FAR_FUTURE else None


def _tally_rows(conn: Connection, filters: Filters, tail: str, p: dict[str, Any]) -> Any:
    """Query ``tail`` (tally_bins / tally_summary) over the window's kept counts: from its kept
    start hour when there is one (``tally_kept_from``), else from its days and hours
    (``tally_kept_spans``); the check and the read in one snapshot (a start may be dropped
    meanwhile)."""
    hs = tally_start(filters)
    if hs is not None:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        if conn.execute(q(SQL, "tally_from_ready", PKG), {"hs": hs}).scalar_one():
            return conn.execute(_tally_query("tally_kept_from", tail), p | {"hs": hs})
    return conn.execute(_tally_query("tally_kept_spans", tail),
                        p | tally_spans(filters.since, filters.until))


@functools.cache
def _tally_query(kept: str, tail: str) -> TextClause:
    """The ``kept`` rows of a window (a WITH clause) followed by the ``tail`` summing them."""
    parts = named(SQL, PKG)
    return text(parts[kept].text + "\n" + parts[tail].text)


def keep_tally_start(engine: Engine, filters: Filters) -> bool:
    """Keep the start hour of an open-ended window (built once, then kept by every fold; on
    the primary): True when it was built now."""
    hs = tally_start(filters)
    if hs is None:
        return False
    with engine.begin() as conn:
        return bool(conn.execute(q(SQL, "tally_from_build", PKG), {"hs": hs}).scalar_one())


def event_summary(engine: Engine, filters: Filters,
                  use_tally: bool | None = None) -> dict[str, int]:
    """Events matching the filters anywhere: total, open, overdue and the newest id (total and
    open from the kept counts when only the window, the area and the scope filter; overdue too
    for the whole district)."""
    p = filters.params()
    with engine.connect() as conn:
        if tallied(filters) if use_tally is None else use_tally:
            r = dict(_tally_rows(conn, filters, "tally_summary", p).mappings().one())
            r |= conn.execute(q(SQL, "summary_overdue_last", PKG),
                              p | {"kept": overdue_kept(filters)}
                              | tally_spans(filters.since, filters.until)).mappings().one()
            r = {k: r[k] for k in ("total", "open", "overdue", "last_id")}
        else:
            r = conn.execute(q(SQL, "event_summary", PKG), p).mappings().one()
    return {k: int(v or 0) for k, v in r.items()}


def compact_tally(engine: Engine) -> int:
    """Fold the counts the event triggers appended into event_tally (rows folded)."""
    with engine.begin() as conn:
        return tally.fold(conn)


def rebuild_tally(engine: Engine) -> int:
    """Recount event_tally from every event (after a bulk load with triggers off)."""
    with engine.begin() as conn:
        return int(conn.execute(q(SQL, "tally_rebuild", PKG)).scalar() or 0)


def events(engine: Engine, filters: Filters, bbox: BBox | None = None,
           limit: int = EVENT_POINT_LIMIT) -> list[MapEvent]:
    """Individual events (newest first) with their details, optionally inside ``bbox``."""
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "events", PKG), filters.params() | _bbox(bbox)
                            | {"limit": limit}).mappings().all()
    return [MapEvent(**r) for r in rows]


def overdue(engine: Engine, filters: Filters, limit: int = 200) -> list[OverdueEvent]:
    """Open events past their time limit matching the filters but not the time window (an
    overdue event stays on the list whenever it was reported), most late first."""
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "overdue_events", PKG), filters.params() | {"limit": limit}
                            ).mappings().all()
    return [OverdueEvent(**r) | {"hours_late": float(r["hours_late"])} for r in rows]


def cameras_in_view(engine: Engine, bbox: BBox, limit: int = 2000,
                    scope: tuple[str, ...] | None = None) -> list[MapCamera]:
    """Cameras inside ``bbox`` standing in a grid of ``scope`` (None: all)."""
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "cameras_in_view", PKG), _bbox(bbox) | {
            "limit": limit, "scope_prefixes": _prefixes(scope)})
        return [MapCamera(**r) for r in rows.mappings()]


def camera_clusters(engine: Engine, bbox: BBox, zoom: float, px: int = CAMERA_CLUSTER_PX,
                    scope: tuple[str, ...] | None = None) -> CameraClusters:
    """Cameras in ``bbox`` (and in ``scope``) aggregated into square cells about ``px`` pixels
    wide at ``zoom``: per cell the count, the offline count and the centroid."""
    lat = (bbox[1] + bbox[3]) / 2
    cellx, celly = bin_size(zoom, lat, px)
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "camera_clusters", PKG), _bbox(bbox) | {
            "cellx": cellx, "celly": celly, "scope_prefixes": _prefixes(scope)}).all()
    clusters = [{"lon": float(r.lon), "lat": float(r.lat), "n": int(r.n),
                 "offline": int(r.n_offline), "code": r.first_code} for r in rows]
    return {"cellx": cellx, "celly": celly, "total": sum(c["n"] for c in clusters),
            "clusters": clusters}


def camera_layer(engine: Engine, bbox: BBox, zoom: float, detail_zoom: int = CAMERA_DETAIL_ZOOM,
                 few: int = CAMERA_FEW, scope: tuple[str, ...] | None = None) -> CameraLayer:
    """What the map draws for the cameras in view (those in ``scope``): clusters at low zoom;
    the individual cameras from ``detail_zoom`` on or when at most ``few`` are in view.
    ``mode`` is "clusters" or "cameras"; ``total`` counts the cameras in view either way."""
    cl = camera_clusters(engine, bbox, zoom, scope=scope)
    if zoom >= detail_zoom or cl["total"] <= few:
        cams = cameras_in_view(engine, bbox, limit=min(max(few, cl["total"]), 2000),
                               scope=scope)
        return {"mode": "cameras", "total": cl["total"], "offline":
                sum(c["status"] != "online" for c in cams), "cameras": cams, "clusters": []}
    return {"mode": "clusters", "total": cl["total"],
            "offline": sum(c["offline"] for c in cl["clusters"]), "cameras": [],
            "clusters": cl["clusters"]}


def cameras_near_event(engine: Engine, event_id: int, radius_m: float = 300.0,
                       limit: int = 20,
                       scope: tuple[str, ...] | None = None) -> list[CameraNearEvent]:
    """Cameras within ``radius_m`` metres of an event (in ``scope``), nearest first."""
    with engine.connect() as conn:
        ev = conn.execute(q("events.sql", "event_by_id", "gis.intake.sql"),
                          {"id": event_id}).mappings().first()
        if ev is None or ev["lat"] is None:
            return []
        rows = conn.execute(q(SQL, "cameras_near_event", PKG), {
            "id": event_id, "radius": radius_m, "limit": limit,
            "deg": metres_to_deg(radius_m, ev["lat"]), "scope_prefixes": _prefixes(scope)}
        ).mappings().all()
    return [dict(r) | {"distance_m": float(r["distance_m"])} for r in rows]


def patrol_coverage(engine: Engine, since: datetime, until: datetime | None = None,
                    radius_m: float = 50.0, lat: float = 31.0) -> dict[str, GridPatrolCoverage]:
    """Per grid: units, units passed within ``radius_m`` by a track of the period, and share.
    (``lat`` is no longer needed: tracks are buffered in metres on the geography.)"""
    until = until or FAR_FUTURE
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "patrol_coverage", PKG), {
            "since": since, "until": until, "radius": radius_m}).all()
    return {r.grid_code: {"units": r.units, "covered": r.covered,
                          "share": (r.covered / r.units) if r.units else 0.0} for r in rows}


def tracks(engine: Engine, since: datetime, until: datetime | None = None,
           limit: int = 2000) -> list[MapTrack]:
    """Patrol tracks of the period (2D GeoJSON) with their worker."""
    until = until or FAR_FUTURE
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "tracks", PKG), {"since": since, "until": until,
                                               "limit": limit}).mappings().all()
    return [dict(r) | {"geometry": json.loads(r["geometry"])} for r in rows]


def grid_stats(engine: Engine, since: datetime, radius_m: float = 50.0,
               scope: tuple[str, ...] | None = None) -> list[GridStats]:
    """Per active grid: open / overdue (backlog), closed / reported (period), coverage, people.

    ``scope``: the code prefixes the viewer may see (None: everything); other grids are left out.
    """
    with engine.connect() as conn:
        counts = {r.grid_code: r for r in conn.execute(
            q(SQL, "grid_event_counts", PKG), {"since": since, "open": list(OPEN_STATUSES),
                                               "scope_prefixes": _prefixes(scope)})}
        people: dict[str, list[GridPersonBrief]] = {}
        for r in conn.execute(q(SQL, "grid_people", PKG)).mappings():
            people.setdefault(r["grid_code"], []).append(
                {"code": r["code"], "name": r["name"], "role": r["role"]})
    ext = extent(engine)
    lat = (ext["minlat"] + ext["maxlat"]) / 2 if ext else 31.0
    cov = patrol_coverage(engine, since, radius_m=radius_m, lat=lat)
    out: list[GridStats] = []
    for g in grids(engine, scope):
        c = counts.get(g["code"])
        cv = cov.get(g["code"], {"units": 0, "covered": 0, "share": 0.0})
        out.append({
            "code": g["code"], "name": g["name"], "kind": g["kind"],
            "community": g["community_name"], "street": g["street_name"],
            "responsible": g["worker_name"], "responsible_code": g["worker_code"],
            "open": c.open if c else 0, "overdue": c.overdue if c else 0,
            "closed": c.closed if c else 0, "reported": c.reported if c else 0,
            "units": cv["units"], "units_patrolled": cv["covered"], "coverage": cv["share"],
            "people": people.get(g["code"], []),
        })
    return out


def worker_stats(engine: Engine, since: datetime) -> list[WorkerStats]:
    """Per worker: roles, reports in the period, open events assigned, patrols and km."""
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "worker_stats", PKG),
                            {"since": since, "open": list(OPEN_STATUSES)}).mappings().all()
    return [dict(r) | {"patrol_km": float(r["patrol_km"])} for r in rows]


def _prefixes(scope: tuple[str, ...] | None) -> area_scope.Prefixes:
    """Bound value of a viewer's scope (None: everything)."""
    return None if scope is None else list(scope)


def _bbox(bbox: BBox | None) -> dict[str, float | None]:
    """Bound parameters of a bounding box (all None for no box)."""
    if bbox is None:
        return {"minlon": None, "minlat": None, "maxlon": None, "maxlat": None}
    return dict(zip(("minlon", "minlat", "maxlon", "maxlat"), map(float, bbox), strict=True))
