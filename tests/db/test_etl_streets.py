"""Streets and barriers loaded from line files and OSM extracts (wangge etl streets)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely
from sqlalchemy import text
from support.etl import write_pbf
from typer.testing import CliRunner

from etl import streets
from wangge.cli import app

KOTKA = Path(__file__).resolve().parents[3] / "shared" / "data" / "kotka_osm_extract.osm.pbf"
LON, LAT = 120.600, 31.305


def _stored(engine, source: str) -> dict[str, tuple]:
    """source_id -> (class, name, geometry type) of one source."""
    with engine.connect() as c:
        return {r.source_id: (r.class_, r.name, r.gtype) for r in c.execute(text(
            "SELECT source_id, class AS class_, name, GeometryType(geom) AS gtype FROM street_line "
            "WHERE source = :s"), {"s": source})}


def _lines_file(path: Path, n: int = 3, **extra) -> Path:
    """A GeoJSON of ``n`` east-west lines with a highway class each."""
    geoms = [shapely.LineString([(LON, LAT + k * 0.001), (LON + 0.003, LAT + k * 0.001)])
             for k in range(n)]
    cols = {"id": [f"s{k}" for k in range(n)], "highway": ["residential"] * n,
            "name": [f"路{k}" for k in range(n)], **extra}
    gpd.GeoDataFrame(cols, geometry=geoms, crs="EPSG:4326").to_file(path, driver="GeoJSON")
    return path


def test_a_line_file_previews_then_loads_and_a_reload_replaces_the_source(clean_db,
                                                                          tmp_path) -> None:
    f = _lines_file(tmp_path / "roads.geojson")
    r = streets.load_file(clean_db, f)
    assert (r.inserted, r.committed) == (3, False) and _stored(clean_db, "roads") == {}
    r = streets.load_file(clean_db, f, commit=True)
    assert r.inserted == 3 and r.placement["per_class"]["residential"]["lines"] == 3
    assert _stored(clean_db, "roads")["s1"] == ("residential", "路1", "LINESTRING")
    again = streets.load_file(clean_db, f, commit=True)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    fewer = streets.load_file(clean_db, _lines_file(tmp_path / "roads.geojson", n=2),
                              commit=True)
    assert set(_stored(clean_db, "roads")) == {"s0", "s1"}
    assert any("删除" in n and "removed" in n for n in fewer.notes)


def test_bad_features_are_rejected_with_row_id_and_a_chinese_reason(clean_db, tmp_path) -> None:
    geoms = [shapely.LineString([(LON, LAT), (LON + 0.001, LAT)]),
             shapely.Point(LON, LAT),
             shapely.LineString([(LON, LAT), (LON + 0.001, LAT)]),
             shapely.LineString([(LON, LAT), (LON, LAT)]),
             shapely.Polygon([(LON, LAT), (LON + 0.001, LAT), (LON, LAT + 0.001)])]
    gdf = gpd.GeoDataFrame({"id": ["a", "b", "a", "d", "e"],
                            "class": ["primary", "primary", "primary", "primary", "Water"]},
                           geometry=geoms, crs="EPSG:4326")
    gdf.to_file(tmp_path / "bad.geojson", driver="GeoJSON")
    r = streets.load_file(clean_db, tmp_path / "bad.geojson", commit=True)
    by = {x.id: x for x in r.rejects}
    assert by["b"].code == "not_a_line" and by["b"].row == 2 and "需要线" in by["b"].reason
    assert by["a"].code == "duplicate_id" and by["a"].row == 3 and "重复" in by["a"].reason
    assert by["d"].code == "zero_length" and "长度为零" in by["d"].reason
    # a polygon (a water area) is kept as its outline, class lower-cased
    assert _stored(clean_db, "bad")["e"] == ("water", None, "LINESTRING")
    assert any("边界线" in n for n in r.notes)


def test_an_osm_extract_gives_streets_by_class_barriers_and_rejects_broken_edge_ways(
        clean_db, tmp_path) -> None:
    d = 0.001
    nodes = {k: (LON + (k % 10) * d, LAT + (k // 10) * d) for k in range(1, 40)}
    ways = [(1, [1, 2, 3], {"highway": "primary", "name": "人民路"}),
            (2, [11, 12, 13], {"highway": "footway"}),
            (3, [21, 22, 23], {"waterway": "canal"}),
            (4, [31, 32, 33], {"railway": "rail"}),
            (5, [4, 5], {"highway": "residential", "tunnel": "yes"}),  # under ground: not kept
            (6, [6, 7], {"highway": "proposed"}),  # not built
            (7, [14, 15, 25, 24, 14], {"natural": "water"}),  # a pond: its outline
            # cut at the extract's edge: nodes missing from the file
            (8, [8, 998], {"highway": "residential"}),  # one node left: GDAL drops it
            (9, [9, 999, 19], {"highway": "residential"}),  # the part inside is kept
            (10, [16, 996, 995, 16], {"natural": "water"})]  # a 2-point ring: rejected
    f = write_pbf(tmp_path / "town.osm.pbf", nodes, ways, [])
    r = streets.load_file(clean_db, f, commit=True)
    got = _stored(clean_db, "town")
    assert {k: v[0] for k, v in got.items()} == {
        "w1": "primary", "w2": "footway", "w3": "water", "w4": "rail", "area:w7": "water",
        "w9": "residential"}
    assert got["w1"][1] == "人民路"
    assert [(x.id, x.code) for x in r.rejects] == [("area:w10", "broken_geometry")]
    assert "截断" in r.rejects[0].reason and "LinearRing" in r.rejects[0].reason
    assert "footway" in r.placement["not_closing_blocks"]
    assert {"primary", "water", "rail"} <= set(r.placement["closes_blocks"])


def test_the_real_kotka_extract_loads_its_streets(clean_db) -> None:
    assert KOTKA.exists(), f"shared data missing: {KOTKA}"
    r = streets.load_file(clean_db, KOTKA, commit=True)
    per = r.placement["per_class"]
    assert r.inserted == r.rows_read - r.rejected and r.inserted > 300
    assert per["residential"]["lines"] > 100 and per["rail"]["lines"] >= 1
    assert per["water"]["lines"] >= 1  # the stream
    lines = streets.load_lines(clean_db, (26.93, 60.52, 26.97, 60.54))
    assert len(lines.geoms) > 150 and "footway" not in lines.classes


def test_the_command_says_what_is_wrong_in_chinese_first(clean_db, settings, tmp_path,
                                                          monkeypatch) -> None:
    monkeypatch.delenv("WANGGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    run = CliRunner()
    gone = run.invoke(app, ["etl", "streets", str(tmp_path / "none.geojson")])
    assert gone.exit_code == 2 and "道路文件不存在" in gone.output
    gpd.GeoDataFrame({"id": ["x"]}, geometry=[shapely.LineString([(LON, LAT), (LON + 1e-3, LAT)])],
                     crs="EPSG:4326").to_file(tmp_path / "plain.geojson", driver="GeoJSON")
    nocls = run.invoke(app, ["etl", "streets", str(tmp_path / "plain.geojson")])
    assert nocls.exit_code == 1 and "道路等级" in nocls.output and "class_field" in nocls.output
    ok = run.invoke(app, ["etl", "streets", str(tmp_path / "plain.geojson"), "--default-class",
                          "residential", "--commit"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout[:ok.stdout.rindex("}") + 1])["inserted"] == 1
