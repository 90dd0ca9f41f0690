"""The planner's page (边界规划) behind the scenes: an uploaded boundary file through the one
import pipeline (boundaries.core.run_import, as `wangge boundaries import` and the API), the
generations and the rollback (gis.territory.activation), the preview drawn on a folium map."""

from __future__ import annotations

import html
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import shapely
from sqlalchemy import Engine

from boundaries import listing
from boundaries.core import ImportResult, run_import
from boundaries.export import feature_collection
from boundaries.model import UnreadableFile
from boundaries.reader import read
from dashboard import basemap, data, mapview
from dashboard.i18n import domain
from dashboard.workbench import _MetricScale as MetricScale  # the scale bar in metres only
from gis.access import auth
from gis.access.auth import Principal
from gis.settings import Settings
from gis.territory import activation as act

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


def preview_map(c: Checked) -> folium.Map | None:
    """The preview on a map: grids coloured by change, re-cut units, problems in red, a
    legend; None when there is nothing to draw."""
    b = _bounds(c)
    if b is None:
        return None
    bm = basemap.configured()
    shift = bool(bm and bm.datum == "gcj02")
    if shift:
        (x0, y0), (x1, y1) = basemap.shift_coords([[b[0], b[1]], [b[2], b[3]]])
        b = (x0, y0, x1, y1)
    m = folium.Map(location=[(b[1] + b[3]) / 2, (b[0] + b[2]) / 2], zoom_start=14, tiles=None,
                   prefer_canvas=True, min_zoom=3, max_zoom=19)
    basemap.add_to(m, bm)
    MetricScale().add_to(m)
    _grid_layers(m, c, shift)
    _recut_layer(m, c, shift)
    _problem_layer(m, c, shift)
    _legend().add_to(folium.FeatureGroup(name=t("Legend"), control=False).add_to(m))
    folium.LayerControl(collapsed=False).add_to(m)
    m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    mapview.stabilise_ids(m)  # the vendored Leaflet, no CDN (the desk may be offline)
    return m
