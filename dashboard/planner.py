"""The planner's page (边界规划) behind the scenes: an uploaded boundary file through the one
import pipeline (boundaries.core.run_import, as `wangge boundaries import` and the API), the
generations and the rollback (gis.territory.activation), the preview drawn on a folium map; a
first draft drawn from the stored buildings and streets (etl.draw.draw_district, as `wangge etl
units --all`, nothing stored) written as a boundary file (boundaries.export) for that import."""

from __future__ import annotations

import html
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import folium
import shapely
from sqlalchemy import Engine

from boundaries import listing
from boundaries.core import ImportResult, run_import
from boundaries.export import areas_collection, encode, feature_collection
from boundaries.model import UnreadableFile
from boundaries.reader import read
from boundaries.validate import base_areas
from dashboard import basemap, data, mapview
from dashboard.i18n import domain
from dashboard.mapchrome import MetricScale
from etl import draw
from etl import streets as stl
from etl.units import DrawParams
from gis.access import auth
from gis.access.auth import Principal
from gis.clock import CST
from gis.settings import Settings
from gis.territory import activation as act
from gis.territory import generations as territory

t = domain("planner")
# grids by their change in the preview (ColorBrewer, told apart without red, kept for problems)
CHANGE_COLOUR = {"added": "#1b7837", "removed": "#8c510a", "changed": "#2166ac",
                 "unchanged": "#9a9a9a"}
PROBLEM = "#e31a1c"
RECUT = "#762a83"


@dataclass(frozen=True)
class Grid:
    """One grid outline to draw: code, name and GeoJSON geometry (WGS84)."""

    code: str
    name: str
    geometry: dict[str, Any]


@dataclass
class Checked:
    """An uploaded file through the pipeline: the result, the file's grids and the base's."""

    name: str
    result: ImportResult
    new_grids: list[Grid] = field(default_factory=list)
    old_grids: list[Grid] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        """False when the file could not be read at all."""
        return bool(self.result.report.get("readable"))


@dataclass
class Draft:
    """A first draft drawn from the stored buildings and streets, nothing stored: what the
    drawing says (``etl.draw.DrawnDistrict`` without the drawing), its grids to draw and its
    boundary file (the bytes the import takes)."""

    name: str
    out: dict[str, Any]
    grids: list[Grid]
    units: list[Grid]
    content: bytes
    drawn_at: datetime

    @property
    def streets_used(self) -> bool:
        """True when the drawing followed stored street and barrier lines."""
        return bool(self.out["streets"]["used"])


@dataclass(frozen=True)
class BoundaryFile:
    """A boundary file to download: its name and bytes."""

    name: str
    content: bytes


def engine() -> Engine:
    """The engine of the configured database."""
    return data._engine(data.database_url())


def actor(who: Principal) -> str:
    """The person as recorded in the generation, the activation, history and the audit."""
    return f"{who.actor} (planner's page)"


def _max_m() -> float:
    """How far outside the district an event is still placed (the API's setting)."""
    return Settings().outside_max_distance_m


def _saved(d: str, name: str, content: bytes) -> Path:
    """The upload written under its own (base) name, so the report names the person's file."""
    path = Path(d) / (Path(name).name or "upload.geojson")
    path.write_bytes(content)
    return path


def check(who: Principal, name: str, content: bytes) -> Checked:
    """Validate and preview an upload (nothing stored), with the grids to draw."""
    auth.check_boundary_writer(who)
    with tempfile.TemporaryDirectory(prefix="wangge-planner-") as d:
        path = _saved(d, name, content)
        res = data._call(run_import, engine(), path, max_m=_max_m(), source_name=name)
        out = Checked(name, res)
        if out.readable:
            out.new_grids = _file_grids(path)
            out.old_grids = data._call(base_grids, res.report.get("base_generation"))
    _audit(who, "boundaries.import", res.report)
    return out


def commit(who: Principal, name: str, content: bytes, note: str) -> ImportResult:
    """Import and activate an upload (the commit path of `wangge boundaries import --commit`)."""
    auth.check_boundary_writer(who)
    description = f"{note.strip() or f'import of {name}'} (uploaded by {actor(who)})"
    with tempfile.TemporaryDirectory(prefix="wangge-planner-") as d:
        res = data._call(run_import, engine(), _saved(d, name, content), commit=True,
                         description=description, actor=actor(who), max_m=_max_m(),
                         source_name=name)
    _audit(who, "boundaries.import", res.report)
    return res


def active_district() -> tuple[str, str] | None:
    """The code and name of the active generation's district (None before the first)."""
    def read_it() -> tuple[str, str] | None:
        with engine().connect() as conn:
            gen = territory.active_generation(conn)
            found = base_areas(conn, gen, ["district"])["district"] if gen else []
        return (found[0].code, found[0].name or "") if found else None
    return data._call(read_it)


def _stamp(at: datetime | None = None) -> str:
    """A time (now) in China Standard Time, for file names: 20261205-1530."""
    return (at or datetime.now(CST)).astimezone(CST).strftime("%Y%m%d-%H%M")


def has_streets() -> bool:
    """True when street or barrier lines are stored (`wangge etl streets`)."""
    return bool(data._call(stl.has_streets, engine()))


def draft(who: Principal, code: str, name: str, params: DrawParams) -> Draft:
    """Draw streets, communities, grids and units from the stored buildings (along the stored
    streets when there are any) as `wangge etl units --all` does, without storing anything;
    the drawing as a boundary file."""
    auth.check_boundary_writer(who)
    out: dict[str, Any] = dict(data._call(draw.draw_district, engine(), code.strip(),
                                          name.strip(), params=params, max_m=_max_m()))
    drawn = out.pop("drawn")
    fc = areas_collection(drawn.areas, name=f"wangge draft {code.strip()}")

    def level(lv: str) -> list[Grid]:
        """The drawn areas of one level to draw on the map."""
        return [Grid(a.code, a.name, shapely.geometry.mapping(a.geom)) for a in drawn.areas
                if a.level == lv]
    now = datetime.now(CST)
    return Draft(f"wangge-draft-{code.strip()}-{_stamp(now)}.geojson", out, level("grid"),
                 level("unit"), encode(fc), now)


def active_file(who: Principal) -> BoundaryFile:
    """The active generation as a boundary file (`wangge boundaries export`): edit a grid edge
    in QGIS and upload it again; the units of moved grids are re-cut by the import."""
    auth.check_boundary_writer(who)

    def export() -> BoundaryFile:
        with engine().connect() as conn:
            fc = feature_collection(conn)
        return BoundaryFile(f"wangge-boundaries-generation-{fc['generation']}-{_stamp()}"
                            ".geojson", encode(fc))
    return data._call(export)


def _file_grids(path: Path) -> list[Grid]:
    """The grids of the file as read by the importer (WGS84)."""
    try:
        source = read(path)
    except UnreadableFile:
        return []
    return [Grid(f.code or "?", f.name or "", shapely.geometry.mapping(f.geom))
            for f in source.features if f.level == "grid" and f.geom is not None
            and not f.geom.is_empty]


def base_grids(generation: int | None) -> list[Grid]:
    """The grids of the generation the file was checked against (none before the first)."""
    if generation is None:
        return []
    with engine().connect() as conn:
        fc = feature_collection(conn, generation)
    return [Grid(f["properties"]["code"], f["properties"].get("name") or "", f["geometry"])
            for f in fc["features"] if f["properties"]["level"] == "grid"]


def generations() -> list[act.GenerationRow]:
    """Every generation, newest last, as `wangge boundaries list` shows them."""
    def read_all() -> list[act.GenerationRow]:
        with engine().connect() as conn:
            return listing.generations(conn)
    return data._call(read_all)


def rollback(who: Principal, really: bool) -> act.RollbackResult:
    """Return to the previous generation (as `wangge boundaries rollback`); without ``really``
    only what it would do, nothing changed."""
    auth.check_boundary_writer(who)

    def run() -> act.RollbackResult:
        with engine().begin() as conn:
            out = act.rollback(conn, actor=actor(who), max_m=_max_m())
            if not really:
                conn.rollback()
        return out
    out = data._call(run)
    if really:
        auth.audit_now(engine(), who, "boundaries.rollback", f"generation:{out['generation']}",
                       "ok", {"committed": True, "generation": out["generation"],
                              "activation": out["activation"],
                              "rolled_back": out["rolled_back"]})
    return out


def _audit(who: Principal, action: str, report: dict[str, Any]) -> None:
    """Audit an import (or its preview) as the API does."""
    if not report.get("readable"):
        return
    gen = report.get("generation")
    done = report.get("activation") or {}
    auth.audit_now(engine(), who, action, f"generation:{gen}" if gen else None, "ok",
                   {"committed": bool(report.get("committed")), "generation": gen,
                    "activation": done.get("activation"), "previous": done.get("previous")})


# -- the preview map --------------------------------------------------------------------------

def grid_changes(report: dict[str, Any]) -> dict[str, str]:
    """Each grid the preview touches: added, removed, changed (or unchanged)."""
    return {g["grid"]: g["change"] for g in (report.get("preview") or {}).get("grids", [])}


def _feature(geometry: dict[str, Any], shift: bool, **props: Any) -> dict[str, Any]:
    """A GeoJSON feature (moved to GCJ-02 for such a basemap)."""
    return {"type": "Feature", "properties": props,
            "geometry": basemap.shift_geometry(geometry) if shift else geometry}


def _legend() -> mapview.Legend:
    """What the colours of the preview map mean."""
    rows = [(CHANGE_COLOUR["added"], t("grid added"), "solid"),
            (CHANGE_COLOUR["changed"], t("grid changed (dashed: before)"), "solid"),
            (CHANGE_COLOUR["removed"], t("grid removed"), "dashed"),
            (CHANGE_COLOUR["unchanged"], t("grid unchanged"), "solid"),
            (RECUT, t("re-cut unit"), "dotted"),
            (PROBLEM, t("problem"), "solid")]
    body = f'<div style="font-weight:600;margin-bottom:3px">{html.escape(t("Preview"))}</div>'
    for colour, label, line in rows:
        body += (f'<div><span style="display:inline-block;width:16px;height:10px;'
                 f'margin-right:5px;border:2px {line} {colour};background:{colour}33"></span>'
                 f'{html.escape(label)}</div>')
    return mapview.Legend(body, position="bottomright")


def _grid_layers(m: folium.Map, c: Checked, shift: bool) -> None:
    """The file's grids coloured by their change; removed grids and changed grids' former
    outline dashed."""
    changes = grid_changes(c.result.report)
    old = {g.code: g for g in c.old_grids}
    new = [_feature(g.geometry, shift, grid=g.code, name=g.name,
                    change=t(changes.get(g.code, "unchanged"))) for g in c.new_grids]
    gone = [_feature(old[code].geometry, shift, grid=code, name=old[code].name, change=t(kind))
            for code, kind in changes.items() if kind in ("removed", "changed") and code in old]

    def style_new(f: dict) -> dict:
        """Solid outline, light fill for added or changed grids."""
        kind = changes.get(f["properties"]["grid"], "unchanged")
        return {"color": CHANGE_COLOUR[kind], "weight": 1 if kind == "unchanged" else 2.5,
                "fillColor": CHANGE_COLOUR[kind],
                "fillOpacity": 0.0 if kind == "unchanged" else 0.22}

    def style_old(f: dict) -> dict:
        """Dashed outline of a grid as it was."""
        kind = changes.get(f["properties"]["grid"], "removed")
        return {"color": CHANGE_COLOUR[kind], "weight": 2, "dashArray": "6 4",
                "fillColor": CHANGE_COLOUR[kind],
                "fillOpacity": 0.15 if kind == "removed" else 0.0}

    fields = ["grid", "name", "change"]
    aliases = [t("grid"), t("name"), t("change")]
    if new:
        folium.GeoJson(mapview._fc(new), name=t("Grids in the file"), style_function=style_new,
                       tooltip=folium.GeoJsonTooltip(fields, aliases=aliases)).add_to(m)
    if gone:
        folium.GeoJson(mapview._fc(gone), name=t("Grids before"), style_function=style_old,
                       tooltip=folium.GeoJsonTooltip(fields, aliases=aliases)).add_to(m)


def _recut_layer(m: folium.Map, c: Checked, shift: bool) -> None:
    """The units re-cut along the moved grid boundaries."""
    feats = [_feature(f["geometry"], shift, unit=f["properties"].get("code", ""),
                      grid=f["properties"].get("grid", ""),
                      change=t(f"unit {f['properties'].get('change', 'changed')}"),
                      buildings=f["properties"].get("buildings", ""))
             for f in (c.result.recut_geojson or {}).get("features", [])]
    if feats:
        folium.GeoJson(mapview._fc(feats), name=t("Re-cut units"),
                       style_function=lambda f: {"color": RECUT, "weight": 1.2,
                                                 "dashArray": "2 3", "fillOpacity": 0.0},
                       tooltip=folium.GeoJsonTooltip(
                           ["unit", "grid", "change", "buildings"],
                           aliases=[t("unit"), t("grid"), t("change"), t("buildings")])
                       ).add_to(m)


def _problem_layer(m: folium.Map, c: Checked, shift: bool) -> None:
    """Problem geometries in red, on top."""
    feats = [_feature(f["geometry"], shift, check=f["properties"].get("check", ""),
                      message=f["properties"].get("message", ""))
             for f in (c.result.problems_geojson or {}).get("features", [])
             if f["properties"].get("role") == "problem" and f.get("geometry")]
    if feats:
        folium.GeoJson(mapview._fc(feats), name=t("Problems"),
                       style_function=lambda f: {"color": PROBLEM, "weight": 3,
                                                 "fillColor": PROBLEM, "fillOpacity": 0.35},
                       marker=folium.CircleMarker(radius=7, color=PROBLEM, fill=True,
                                                  fill_opacity=0.6),
                       tooltip=folium.GeoJsonTooltip(["check", "message"],
                                                     aliases=[t("check"), t("problem")])
                       ).add_to(m)


def _bounds(c: Checked) -> tuple[float, float, float, float] | None:
    """The extent of everything drawn (lon/lat)."""
    geoms = [g.geometry for g in (*c.new_grids, *c.old_grids)]
    for fc in (c.result.problems_geojson, c.result.recut_geojson):
        geoms += [f["geometry"] for f in (fc or {}).get("features", []) if f.get("geometry")]
    if not geoms:
        return None
    b = shapely.total_bounds([shapely.geometry.shape(g) for g in geoms])
    return tuple(float(x) for x in b)  # type: ignore[return-value]


def _map(b: tuple[float, float, float, float]) -> tuple[folium.Map, bool]:
    """An empty map of the extent ``b`` (lon/lat) on the configured basemap, with the metric
    scale; and whether features must be moved to GCJ-02 for that basemap."""
    bm = basemap.configured()
    shift = bool(bm and bm.datum == "gcj02")
    if shift:
        (x0, y0), (x1, y1) = basemap.shift_coords([[b[0], b[1]], [b[2], b[3]]])
        b = (x0, y0, x1, y1)
    m = folium.Map(location=[(b[1] + b[3]) / 2, (b[0] + b[2]) / 2], zoom_start=14, tiles=None,
                   prefer_canvas=True, min_zoom=3, max_zoom=19)
    basemap.add_to(m, bm)
    MetricScale().add_to(m)
    m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    return m, shift


def _finish(m: folium.Map, legend: mapview.Legend) -> folium.Map:
    """The legend, the layer control and stable ids (the vendored Leaflet, no CDN)."""
    legend.add_to(folium.FeatureGroup(name=t("Legend"), control=False).add_to(m))
    folium.LayerControl(collapsed=False).add_to(m)
    mapview.stabilise_ids(m)  # the desk may be offline
    return m


def preview_map(c: Checked) -> folium.Map | None:
    """The preview on a map: grids coloured by change, re-cut units, problems in red, a
    legend; None when there is nothing to draw."""
    b = _bounds(c)
    if b is None:
        return None
    m, shift = _map(b)
    _grid_layers(m, c, shift)
    _recut_layer(m, c, shift)
    _problem_layer(m, c, shift)
    return _finish(m, _legend())


# -- the draft's map --------------------------------------------------------------------------
DRAFT_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
                 "#1f78b4")  # ColorBrewer Dark2 and one blue: neighbouring grids told apart
UNIT_LINE = "#555555"


def _draft_legend(d: Draft) -> mapview.Legend:
    """What the draft map shows."""
    swatches = "".join(f'<span style="display:inline-block;width:8px;height:10px;'
                       f'background:{c}88;border:1px solid {c}"></span>'
                       for c in DRAFT_COLOURS[:4])
    body = (f'<div style="font-weight:600;margin-bottom:3px">{html.escape(t("Draft"))}</div>'
            f'<div>{swatches} {html.escape(t("drafted grid ({n})", n=len(d.grids)))}</div>'
            f'<div><span style="display:inline-block;width:16px;height:0;margin-right:5px;'
            f'border-top:1px dotted {UNIT_LINE}"></span>'
            f'{html.escape(t("unit ({n}; tick the layer to show)", n=len(d.units)))}</div>')
    return mapview.Legend(body, position="bottomright")


def draft_map(d: Draft) -> folium.Map | None:
    """The drafted grids, each its own colour with its workload in the tooltip, and (a layer
    to tick) its units; None when nothing was drawn."""
    if not d.grids:
        return None
    rows = {r["grid"]: r for r in d.out["workload"]["grids"]}
    b = shapely.total_bounds([shapely.geometry.shape(g.geometry) for g in d.grids])
    m, shift = _map(tuple(float(x) for x in b))  # type: ignore[arg-type]
    colour = {g.code: DRAFT_COLOURS[k % len(DRAFT_COLOURS)] for k, g in enumerate(d.grids)}
    feats = [_feature(g.geometry, shift, grid=g.code, name=g.name,
                      buildings=int(rows.get(g.code, {}).get("buildings", 0)),
                      floor_area=f"{rows.get(g.code, {}).get('floor_area_m2', 0):,.0f}",
                      units=int(rows.get(g.code, {}).get("units", 0))) for g in d.grids]
    folium.GeoJson(mapview._fc(feats), name=t("Drafted grids"),
                   style_function=lambda f: {"color": colour[f["properties"]["grid"]],
                                             "weight": 2.5, "fillOpacity": 0.25,
                                             "fillColor": colour[f["properties"]["grid"]]},
                   tooltip=folium.GeoJsonTooltip(
                       ["grid", "name", "buildings", "floor_area", "units"],
                       aliases=[t("grid"), t("name"), t("buildings"), t("floor area (m²)"),
                                t("units")])).add_to(m)
    units = [_feature(u.geometry, shift, unit=u.code) for u in d.units]
    if units:
        folium.GeoJson(mapview._fc(units), name=t("Drafted units"), show=False,
                       style_function=lambda f: {"color": UNIT_LINE, "weight": 0.8,
                                                 "dashArray": "2 3", "fillOpacity": 0.0},
                       tooltip=folium.GeoJsonTooltip(["unit"], aliases=[t("unit")])).add_to(m)
    return _finish(m, _draft_legend(d))
