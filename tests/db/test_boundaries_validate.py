"""A fixture per validation problem: small GeoJSON files built with shapely in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, box, mapping
from sqlalchemy import Engine, text

from boundaries.core import run_import
from boundaries.validate import Options

X0, Y0, D = 120.600, 31.300, 0.001  # one grid cell is ~95 m x 111 m


def territory(n_grids: int = 2) -> list[dict]:
    """District → street → community → n grids (side by side) → 2 units each, as features."""
    w = n_grids * D
    feats = [
        ("district", "320508", None, box(X0, Y0, X0 + w, Y0 + D)),
        ("street", "320508001", "320508", box(X0, Y0, X0 + w, Y0 + D)),
        ("community", "320508001001", "320508001", box(X0, Y0, X0 + w, Y0 + D)),
    ]
    for i in range(n_grids):
        g = f"320508001001{i + 1:03d}"
        x = X0 + i * D
        feats.append(("grid", g, "320508001001", box(x, Y0, x + D, Y0 + D)))
        feats.append(("unit", g + "001", g, box(x, Y0, x + D / 2, Y0 + D)))
        feats.append(("unit", g + "002", g, box(x + D / 2, Y0, x + D, Y0 + D)))
    return [feature(lvl, code, parent, geom) for lvl, code, parent, geom in feats]


def feature(level: str, code: str | None, parent: str | None, geom) -> dict:
    """One GeoJSON feature with the import properties."""
    props = {"level": level, "name": f"{level} {code}", "parent_code": parent}
    if code is not None:
        props["code"] = code
    return {"type": "Feature", "properties": props,
            "geometry": mapping(geom) if not isinstance(geom, dict) else geom}


def replace(feats: list[dict], code: str, geom) -> list[dict]:
    """The features with one geometry replaced."""
    out = []
    for f in feats:
        if f["properties"].get("code") == code:
            f = {**f, "geometry": mapping(geom) if not isinstance(geom, dict) else geom}
        out.append(f)
    return out


def write(tmp_path: Path, feats: list[dict], name: str = "b.geojson") -> Path:
    """Write a FeatureCollection."""
    p = tmp_path / name
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return p


def checks(engine: Engine, path: Path, **kw) -> tuple[int, dict[str, list[dict]]]:
    """Exit code and problems by check name."""
    res = run_import(engine, path, **kw)
    by: dict[str, list[dict]] = {}
    for p in res.report["problems"]:
        by.setdefault(p["check"], []).append(p)
    return res.exit_code, by


def test_clean_territory_is_acceptable(clean_db: Engine, tmp_path: Path) -> None:
    """The reference territory has no blocking problem."""
    code, by = checks(clean_db, write(tmp_path, territory()))
    assert code == 0, by
    assert not [p for ps in by.values() for p in ps if p["severity"] == "error"]


def test_bow_tie_is_blocking_and_repair_is_offered(clean_db: Engine, tmp_path: Path) -> None:
    """A self-intersecting (bow-tie) grid is blocking; --repair uses make_valid's result."""
    g = "320508001001001"
    bow = Polygon([(X0, Y0), (X0 + D, Y0 + D), (X0 + D, Y0), (X0, Y0 + D), (X0, Y0)])
    path = write(tmp_path, replace(territory(), g, bow))
    code, by = checks(clean_db, path)
    assert code == 1
    p = by["invalid_geometry"][0]
    assert p["severity"] == "error" and "Self-intersection" in p["message"]
    assert p["repair"]["parts"] == 2 and "`repair` option" in p["message"]
    _code, by = checks(clean_db, path, options=Options(repair=True))
    assert by["invalid_geometry"][0]["severity"] == "repaired"


def test_unclosed_and_short_rings(clean_db: Engine, tmp_path: Path) -> None:
    """An unclosed ring is blocking (repairable); a 3-position ring makes the geometry empty."""
    g = "320508001001001"
    unclosed = {"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + D, Y0], [X0 + D, Y0 + D],
                                                    [X0, Y0 + D]]]}
    code, by = checks(clean_db, write(tmp_path, replace(territory(), g, unclosed)))
    assert code == 1 and "not closed" in by["bad_ring"][0]["message"]
    code, by = checks(clean_db, write(tmp_path, replace(territory(), g, unclosed)),
                      options=Options(repair=True))
    assert by["bad_ring"][0]["severity"] == "repaired" and code == 0
    short = {"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + D, Y0], [X0, Y0]]]}
    code, by = checks(clean_db, write(tmp_path, replace(territory(), g, short)))
    assert code == 1 and "at least 4" in by["empty_geometry"][0]["message"]


def test_empty_and_wrong_type(clean_db: Engine, tmp_path: Path) -> None:
    """Empty polygons and points are blocking."""
    feats = territory()
    feats = replace(feats, "320508001001001", {"type": "Polygon", "coordinates": []})
    feats = replace(feats, "320508001001002", Point(X0, Y0))
    code, by = checks(clean_db, write(tmp_path, feats))
    assert code == 1
    assert by["empty_geometry"][0]["code"] == "320508001001001"
    assert by["wrong_type"][0]["code"] == "320508001001002"
    assert "Point" in by["wrong_type"][0]["message"]


def test_overlap_with_area_and_location(clean_db: Engine, tmp_path: Path) -> None:
    """Two grids overlapping by a 10% strip: area in m² and a location inside it."""
    g2 = "320508001001002"
    feats = replace(territory(), g2, box(X0 + 0.9 * D, Y0, X0 + 2 * D, Y0 + D))
    code, by = checks(clean_db, write(tmp_path, feats))
    assert code == 1
    ov = by["overlap"][0]
    assert ov["others"] == [g2]
    assert 950 < ov["area_m2"] < 1150  # ~9.5 m x 111 m
    assert X0 + 0.9 * D <= ov["lon"] <= X0 + D and Y0 <= ov["lat"] <= Y0 + D


def test_gap_in_community(clean_db: Engine, tmp_path: Path) -> None:
    """A community part no grid covers is a gap."""
    g2 = "320508001001002"
    feats = territory()
    feats = replace(feats, g2, box(X0 + D, Y0, X0 + 2 * D, Y0 + D / 2))
    feats = replace(feats, g2 + "001", box(X0 + D, Y0, X0 + 1.5 * D, Y0 + D / 2))
    feats = replace(feats, g2 + "002", box(X0 + 1.5 * D, Y0, X0 + 2 * D, Y0 + D / 2))
    code, by = checks(clean_db, write(tmp_path, feats))
    assert code == 1
    gap = by["gap"][0]
    assert gap["code"] == "320508001001" and 4500 < gap["area_m2"] < 5800


def test_grid_crossing_community_and_unit_outside_grid(clean_db: Engine,
                                                       tmp_path: Path) -> None:
    """A grid sticking out of its community; a unit sticking out of its grid."""
    g2 = "320508001001002"
    feats = replace(territory(), g2, box(X0 + D, Y0, X0 + 2.2 * D, Y0 + D))
    feats = replace(feats, "320508001001001002", box(X0 + D / 2, Y0, X0 + 1.3 * D, Y0 + D))
    code, by = checks(clean_db, write(tmp_path, feats))
    assert code == 1
    assert by["grid_outside_community"][0]["code"] == g2
    assert by["unit_outside_grid"][0]["code"] == "320508001001001002"
    assert by["unit_outside_grid"][0]["area_m2"] > 2000


def test_duplicate_and_missing_codes(clean_db: Engine, tmp_path: Path) -> None:
    """The same code twice, and a feature without a code."""
    feats = territory()
    feats.append(feature("unit", "320508001001001001", "320508001001001",
                         box(X0, Y0, X0 + D / 4, Y0 + D / 4)))
    feats.append(feature("unit", None, "320508001001001", box(X0, Y0, X0 + D / 4, Y0 + D / 4)))
    code, by = checks(clean_db, write(tmp_path, feats))
    assert code == 1
    assert "first by feature #" in by["duplicate_code"][0]["message"]
    assert by["missing_code"]


def test_parent_missing_from_file_and_database(clean_db: Engine, tmp_path: Path) -> None:
    """Grids whose community is neither in the file nor in the database block the import."""
    feats = [f for f in territory() if f["properties"]["level"] in ("grid", "unit")]
    code, by = checks(clean_db, write(tmp_path, feats))
    assert code == 1
    msgs = [p["message"] for p in by["missing_parent"]]
    assert any("neither in the file nor in the active generation" in m for m in msgs)


def test_slivers(clean_db: Engine, tmp_path: Path) -> None:
    """A tiny extra part of a unit is a sliver (configurable threshold)."""
    u = "320508001001001001"
    tiny = box(X0 + D / 4, Y0 + D / 4, X0 + D / 4 + 1e-5, Y0 + D / 4 + 1e-5)  # ~1 m²
    part = box(X0, Y0, X0 + D / 2, Y0 + D)
    feats = replace(territory(), u, shapely.MultiPolygon([part.difference(tiny.buffer(1e-6)),
                                                          tiny]))
    _code, by = checks(clean_db, write(tmp_path, feats))
    assert by["sliver"][0]["code"] == u and by["sliver"][0]["area_m2"] < 5
    _code, by = checks(clean_db, write(tmp_path, feats), options=Options(min_area_m2=0.5))
    assert "sliver" not in by


def test_buildings_per_unit(clean_db: Engine, tmp_path: Path) -> None:
    """Units with no building, with more than 3, and a building in no unit."""
    g1 = "320508001001001"
    feats = territory()
    # grid 2's units leave a strip uncovered: a building there is in no unit
    feats = replace(feats, "320508001001002002", box(X0 + 1.5 * D, Y0, X0 + 2 * D, Y0 + 0.8 * D))
    pts = [(X0 + 0.1 * D * (k + 1), Y0 + D / 2) for k in range(4)]  # 4 in unit g1+001
    pts += [(X0 + 1.25 * D, Y0 + D / 2), (X0 + 1.75 * D, Y0 + 0.9 * D)]
    with clean_db.begin() as conn:
        for k, (x, y) in enumerate(pts):
            conn.execute(text(
                "INSERT INTO building (source_id, geom) VALUES (:s, ST_Multi(ST_Buffer("
                "ST_SetSRID(ST_Point(:x, :y), 4326), 0.00001)))"), {"s": f"b{k}", "x": x, "y": y})
    code, by = checks(clean_db, write(tmp_path, feats))
    assert code == 0  # warnings only
    assert by["unit_too_many_buildings"][0]["code"] == g1 + "001"
    assert {p["code"] for p in by["unit_without_building"]} == {g1 + "002",
                                                               "320508001001002002"}
    assert len(by["building_without_unit"]) == 1


def test_report_and_problem_geojson_files(clean_db: Engine, tmp_path: Path, monkeypatch) -> None:
    """CLI: readable table, JSON report, GeoJSON of problem geometries, exit codes 0/1/2."""
    from typer.testing import CliRunner

    from wangge.cli import app

    monkeypatch.setenv("DATABASE_URL", clean_db.url.render_as_string(hide_password=False)
                       .replace("+psycopg2", ""))
    runner = CliRunner()
    ok = write(tmp_path, territory(), "ok.geojson")
    r = runner.invoke(app, ["boundaries", "import", str(ok)])
    assert r.exit_code == 0, r.output
    assert "acceptable: preview only" in r.output
    g2 = "320508001001002"
    bad = write(tmp_path, replace(territory(), g2, box(X0 + 0.9 * D, Y0, X0 + 2 * D, Y0 + D)),
                "bad.geojson")
    rep = tmp_path / "rep.json"
    r = runner.invoke(app, ["boundaries", "import", str(bad), "--report", str(rep), "--commit"])
    assert r.exit_code == 1, r.output
    assert "overlap" in r.output and "BLOCKED" in r.output
    report = json.loads(rep.read_text())
    assert report["acceptable"] is False and report["committed"] is False
    geo = json.loads((tmp_path / "rep.problems.geojson").read_text())
    assert any(f["properties"]["check"] == "overlap" for f in geo["features"])
    junk = tmp_path / "junk.geojson"
    junk.write_text('{"type": "FeatureCollection"}')
    r = runner.invoke(app, ["boundaries", "import", str(junk)])
    assert r.exit_code == 2 and "features" in r.output
    r = runner.invoke(app, ["boundaries", "import", str(ok), "--commit"])
    assert r.exit_code == 0 and "ACTIVATED" in r.output
    r = runner.invoke(app, ["boundaries", "list"])
    assert "active" in r.output


@pytest.mark.parametrize("crs", ["EPSG:32651", "gcj02"])
def test_crs_gpkg_and_zipped_shapefile(clean_db: Engine, tmp_path: Path, crs: str) -> None:
    """GeoPackage (by layer) and zipped Shapefile in a projected CRS or GCJ-02 come back WGS84."""
    import zipfile

    import geopandas as gpd

    from boundaries.reader import read
    from gis.geo.datum import Datum, from_wgs84

    feats = territory()
    gdf = gpd.GeoDataFrame.from_features(feats, crs="EPSG:4326")
    if crs == "gcj02":
        def fwd(xy: np.ndarray) -> np.ndarray:
            """WGS84 → GCJ-02."""
            x, y = from_wgs84(xy[:, 0], xy[:, 1], Datum.GCJ02)
            return np.column_stack([x, y])
        out = gdf.set_geometry(shapely.transform(gdf.geometry.values, fwd)).set_crs(
            None, allow_override=True)
        given = "gcj02"
    else:
        out = gdf.to_crs(crs)
        given = None
    gpkg = tmp_path / "b.gpkg"
    out.to_file(gpkg, layer="grids", driver="GPKG")
    out.iloc[:1].to_file(gpkg, layer="other", driver="GPKG")
    src = read(gpkg, layer="grids", crs=given)
    want = {f["properties"]["code"]: shapely.geometry.shape(f["geometry"]) for f in feats}
    for f in src.features:
        assert shapely.hausdorff_distance(f.geom, want[f.code]) < 1e-7, f.code
    shp = tmp_path / "shp"
    shp.mkdir()
    out.to_file(shp / "b.shp")
    z = tmp_path / "b.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in shp.iterdir():
            zf.write(p, p.name)
    code, by = checks(clean_db, z, crs=given)
    assert code == 0, by
