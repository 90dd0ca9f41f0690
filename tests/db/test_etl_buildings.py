"""Building loads: every format, every bad input, idempotent reloads, placement in grids."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import text
from support.etl import LAT, LON, boxes, count, osm_sample
from typer.testing import CliRunner

from etl import buildings as bld
from etl.common import EtlError
from gis.geo.datum import from_wgs84


def test_geojson_gpkg_shapefile_csv_pbf(clean_db, tmp_path: Path) -> None:
    g = boxes()
    g.to_file(tmp_path / "b.geojson", driver="GeoJSON")
    g.to_file(tmp_path / "b.gpkg", driver="GPKG", layer="lou")
    g.to_file(tmp_path / "b.shp")
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as z:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            if (tmp_path / f"b.{ext}").exists():
                z.write(tmp_path / f"b.{ext}", f"b.{ext}")
    csv = g.assign(wkt=g.geometry.to_wkt()).drop(columns="geometry")
    csv.to_csv(tmp_path / "b.csv", index=False)
    for name, kw in (("b.geojson", {}), ("b.gpkg", {"layer": "lou"}), ("b.zip", {}),
                     ("b.csv", {})):
        r = bld.load_file(clean_db, tmp_path / name, source=name, id_field="bid", commit=True,
                          **kw)
        assert (r.rows_read, r.inserted, r.rejected) == (3, 3, 0), (name, r.to_dict())
        with clean_db.connect() as c:
            row = c.execute(text("SELECT floors, name FROM building WHERE source = :s AND "
                                 "source_id = 'B1'"), {"s": name}).one()
        assert tuple(row) == (2, "楼1")
    r = bld.load_file(clean_db, osm_sample(tmp_path / "x.osm.pbf"), commit=True)
    assert (r.rows_read, r.inserted, r.rejected) == (3, 3, 0), r.to_dict()
    with clean_db.connect() as c:
        rows = {x.source_id: x for x in c.execute(text(
            "SELECT source_id, name, address, floors, ST_NumInteriorRings(ST_GeometryN(geom, 1))"
            " AS holes FROM building WHERE source = 'x'"))}
    assert rows["w100"].floors == 3 and rows["w100"].address == "人民路 1"
    assert rows["r200"].name == "乙楼" and rows["r200"].holes == 1
    assert "w102" not in rows  # landuse, not a building


def test_projected_crs_and_gcj02(clean_db, tmp_path: Path) -> None:
    g = boxes(2)
    g.to_crs(3857).to_file(tmp_path / "m.gpkg", driver="GPKG")
    r = bld.load_file(clean_db, tmp_path / "m.gpkg", id_field="bid", commit=True)
    assert r.inserted == 2 and r.crs == "EPSG:3857"
    gx, gy = from_wgs84(LON, LAT, "gcj02")
    gcj = boxes(1, gx, gy)
    gcj.assign(wkt=gcj.geometry.to_wkt()).drop(columns="geometry").to_csv(tmp_path / "g.csv",
                                                                            index=False)
    r = bld.load_file(clean_db, tmp_path / "g.csv", id_field="bid", crs="gcj02", commit=True)
    assert r.inserted == 1
    with clean_db.connect() as c:
        x, y = c.execute(text("SELECT ST_XMin(geom), ST_YMin(geom) FROM building WHERE source "
                              "= 'g'")).one()
        mx, my = c.execute(text("SELECT ST_XMin(geom), ST_YMin(geom) FROM building WHERE "
                                "source = 'm' AND source_id = 'B0'")).one()
    assert abs(x - LON) < 1e-5 and abs(y - LAT) < 1e-5  # back to WGS84 (~1 m), not ~500 m off
    assert abs(mx - LON) < 1e-7 and abs(my - LAT) < 1e-7


def write_csv(path: Path, rows: list[tuple[str, str]], header: str = "bid,wkt") -> Path:
    """A CSV of (id, WKT) rows."""
    path.write_text(header + "\n" + "".join(f'{i},"{w}"\n' for i, w in rows), encoding="utf-8")
    return path


SQ = f"POLYGON(({LON} {LAT}, {LON + 0.0002} {LAT}, {LON + 0.0002} {LAT + 0.0002}, " \
     f"{LON} {LAT + 0.0002}, {LON} {LAT}))"
BOWTIE = f"POLYGON(({LON} {LAT}, {LON + 0.0002} {LAT + 0.0002}, {LON + 0.0002} {LAT}, " \
         f"{LON} {LAT + 0.0002}, {LON} {LAT}))"


def test_bad_rows_are_rejected_with_row_field_and_reason(clean_db, tmp_path: Path) -> None:
    far = SQ.replace(str(LON), "200.6")
    f = write_csv(tmp_path / "bad.csv", [
        ("A", SQ), ("B", ""), ("C", "POLYGON EMPTY"), ("D", BOWTIE), ("E", far),
        ("A", SQ.replace(str(LAT), "31.306")), ("", SQ), ("H", "POINT(120.6 31.3)"),
        ("I", "POLYGON((120.6 31.3, 120.7"),
    ])
    r = bld.load_file(clean_db, f, id_field="bid", commit=True)
    by_row = {x.row: x for x in r.rejects}
    assert r.rows_read == 9 and r.inserted == 1 and r.rejected == 8
    assert by_row[2].code == "missing_geometry" and by_row[2].field == "geometry"
    assert by_row[3].code == "empty_geometry"
    assert by_row[4].code == "invalid_polygon" and "Self-intersection" in by_row[4].reason
    assert by_row[5].code == "out_of_range" and "200.6" in by_row[5].reason
    assert by_row[6].code == "duplicate_id" and "first seen at row 1" in by_row[6].reason
    assert by_row[7].code == "missing_id" and by_row[7].field == "bid"
    assert by_row[8].code == "not_a_polygon" and "Point" in by_row[8].reason
    assert by_row[9].code == "bad_wkt"  # a truncated last line
    assert count(clean_db) == 1  # nothing wrong was loaded
    out = r.write(tmp_path / "rep.json")
    assert (tmp_path / "rep.rejects.csv").read_text().count("\n") == 9
    assert json.loads(out.read_text())["rejected_by_reason"]["duplicate_id"] == 1
    # --repair keeps the bow-tie as a valid polygon
    r = bld.load_file(clean_db, f, id_field="bid", repair=True, commit=True)
    assert r.rejected == 7 and r.inserted == 1 and any("repaired" in n for n in r.notes)


def test_file_level_errors(clean_db, tmp_path: Path) -> None:
    (tmp_path / "empty.geojson").write_text("")
    with pytest.raises(EtlError, match="empty") as e:
        bld.load_file(clean_db, tmp_path / "empty.geojson")
    assert e.value.code == "empty_file"
    (tmp_path / "none.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(EtlError, match="no features"):
        bld.load_file(clean_db, tmp_path / "none.geojson")
    boxes().to_file(tmp_path / "ok.geojson", driver="GeoJSON")
    whole = (tmp_path / "ok.geojson").read_text()
    (tmp_path / "cut.geojson").write_text(whole[: len(whole) // 2])
    with pytest.raises(EtlError, match="truncated") as e:
        bld.load_file(clean_db, tmp_path / "cut.geojson")
    assert e.value.code == "unreadable_file"
    with pytest.raises(EtlError, match="'bid', 'floors', 'name'") as e:
        bld.load_file(clean_db, tmp_path / "ok.geojson", id_field="building_no")
    assert e.value.code == "unknown_column" and e.value.details[0]["field"] == "id"
    with pytest.raises(EtlError, match="no WKT geometry column"):
        bld.load_file(clean_db, write_csv(tmp_path / "c.csv", [("A", SQ)], "bid,shape_txt"))
    with pytest.raises(EtlError, match="no layer 'nope'"):
        boxes().to_file(tmp_path / "l.gpkg", driver="GPKG", layer="lou")
        bld.load_file(clean_db, tmp_path / "l.gpkg", layer="nope")
    assert count(clean_db) == 0


def test_crs_that_does_not_match_the_coordinates(clean_db, tmp_path: Path) -> None:
    boxes().set_crs(3857, allow_override=True).to_file(tmp_path / "deg.gpkg", driver="GPKG")
    with pytest.raises(EtlError, match="look like degrees") as e:
        bld.load_file(clean_db, tmp_path / "deg.gpkg")
    assert e.value.code == "crs_mismatch"
    boxes().to_crs(3857).set_crs(4326, allow_override=True).to_file(tmp_path / "m.gpkg",
                                                                    driver="GPKG")
    with pytest.raises(EtlError, match="look like metres"):
        bld.load_file(clean_db, tmp_path / "m.gpkg")
    r = bld.load_file(clean_db, tmp_path / "m.gpkg", crs="EPSG:3857", id_field="bid",
                      commit=True)
    assert r.inserted == 3 and any("overrides" in n for n in r.notes)


def test_reload_is_idempotent_and_preview_writes_nothing(clean_db, tmp_path: Path) -> None:
    g = boxes(4)
    g.to_file(tmp_path / "b.geojson", driver="GeoJSON")
    r = bld.load_file(clean_db, tmp_path / "b.geojson", id_field="bid")
    assert r.inserted == 4 and not r.committed and count(clean_db) == 0
    bld.load_file(clean_db, tmp_path / "b.geojson", id_field="bid", commit=True)
    with clean_db.connect() as c:
        before = c.execute(text("SELECT id, loaded_at FROM building ORDER BY id")).all()
    r = bld.load_file(clean_db, tmp_path / "b.geojson", id_field="bid", commit=True)
    assert (r.inserted, r.updated, r.unchanged) == (0, 0, 4)
    with clean_db.connect() as c:
        assert c.execute(text("SELECT id, loaded_at FROM building ORDER BY id")).all() == before
    g.loc[1, "floors"] = 5
    g.to_file(tmp_path / "b.geojson", driver="GeoJSON")
    r = bld.load_file(clean_db, tmp_path / "b.geojson", id_field="bid", commit=True)
    assert (r.inserted, r.updated, r.unchanged) == (0, 1, 3)


def test_each_building_gets_its_grid_and_unit(demo_district, engine, tmp_path: Path) -> None:
    g = boxes(2)
    g.loc[2] = ["FAR", 1, "远", shapely.box(121.5, 31.0, 121.5002, 31.0002)]
    g.to_file(tmp_path / "b.geojson", driver="GeoJSON")
    r = bld.load_file(engine, tmp_path / "b.geojson", id_field="bid", commit=True,
                      placement_file=tmp_path / "place.csv")
    assert r.inserted == 3  # outside every grid is still loaded, and reported
    assert r.placement["in_grid"] == 2 and r.placement["outside_ids"] == ["FAR"]
    lines = (tmp_path / "place.csv").read_text().splitlines()
    assert lines[0] == "row,source_id,grid,unit,status"
    assert lines[1].startswith("1,B0,320508") and lines[3].endswith(",,,outside")


def test_cli_preview_and_commit(clean_db, settings, tmp_path: Path, monkeypatch) -> None:
    from wangge.cli import app

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "c.csv", [("A", SQ), ("B", "")])
    runner = CliRunner()
    res = runner.invoke(app, ["etl", "buildings", "c.csv", "--id-field", "bid"])
    assert res.exit_code == 0, res.output
    assert "preview only" in res.output and (tmp_path / "c.csv.rejects.csv").exists()
    assert count(clean_db) == 0
    res = runner.invoke(app, ["etl", "buildings", "c.csv", "--id-field", "bid", "--commit",
                              "--report", "out/r.json"])
    assert res.exit_code == 0 and count(clean_db) == 1
    assert json.loads((tmp_path / "out" / "r.json").read_text())["inserted"] == 1
    res = runner.invoke(app, ["etl", "buildings", "c.csv", "--id-field", "nope"])
    assert res.exit_code == 1 and "unknown_column" in res.output


def index_state(engine) -> dict[str, tuple[int, str]]:
    """building's indexes: name -> (oid, definition)."""
    with engine.connect() as c:
        return {r[0]: (r[1], r[2]) for r in c.execute(text(
            "SELECT c.relname, c.oid::bigint, pg_get_indexdef(c.oid) FROM pg_index i JOIN "
            "pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'building'::regclass"))}


def test_bulk_load_rebuilds_indexes_and_upserts_exactly(owner_db, monkeypatch) -> None:
    """The large-load path (indexes dropped and rebuilt, new rows COPYed straight in, stored
    ones staged) keeps every value, the index definitions and the upsert semantics."""
    from etl.common import Report

    monkeypatch.setattr(bld, "BULK_REBUILD_MIN_ROWS", 5)
    monkeypatch.setattr(bld, "COPY_CHUNK_ROWS", 7)  # several COPY chunks
    before = index_state(owner_db)
    g = boxes(40)
    g["name"] = [f"楼{i}\t\\x\n\"q\"" if i % 3 == 0 else None for i in range(40)]
    g["note"] = [f'a "b" \\ c\t{i}' for i in range(40)]
    g.loc[5, "geometry"] = shapely.MultiPolygon([shapely.box(LON, LAT + 0.01, LON + 0.0001,
                                                             LAT + 0.0101),
                                                 shapely.box(LON + 0.0002, LAT + 0.01,
                                                             LON + 0.0003, LAT + 0.0101)])

    def load(frame, commit=True):
        r = Report("buildings", "x")
        prepared = bld.prepare(frame, r, id_field="bid")
        return bld.load_frame(owner_db, prepared, "bulk", r, commit=commit)

    r = load(g, commit=False)  # a preview: nothing written, indexes untouched
    assert r.inserted == 40 and count(owner_db) == 0 and index_state(owner_db) == before
    r = load(g)
    assert (r.inserted, r.updated, r.unchanged) == (40, 0, 0)
    after = index_state(owner_db)
    assert {k: v[1] for k, v in after.items()} == {k: v[1] for k, v in before.items()}
    assert after["building_geom_gist"][0] != before["building_geom_gist"][0]  # rebuilt
    with owner_db.connect() as c:
        rows = {x.source_id: x for x in c.execute(text(
            "SELECT source_id, name, floors, properties, ST_AsBinary(geom) AS wkb, "
            "ST_SRID(geom) AS srid, ST_Equals(point, ST_PointOnSurface(geom)) AS pt, loaded_at "
            "FROM building WHERE source = 'bulk'"))}
    for i in range(40):
        x = rows[f"B{i}"]
        assert x.name == (f"楼{i}\t\\x\n\"q\"" if i % 3 == 0 else None)  # never 'nan'
        assert x.floors == 2 and x.srid == 4326 and x.pt
        assert x.properties == {"note": g.loc[i, "note"]}
        want = g.loc[i, "geometry"]
        assert shapely.from_wkb(bytes(x.wkb)).equals(
            want if want.geom_type == "MultiPolygon" else shapely.MultiPolygon([want]))
    # reload: 10 changed, 5 new, 25 unchanged (untouched), 3 stored rows absent from the file
    g2 = gpd.GeoDataFrame(gpd.pd.concat([g.iloc[3:], boxes(5, lat=LAT + 0.002).assign(
        bid=[f"N{i}" for i in range(5)], note="n")], ignore_index=True), crs=4326)
    g2.loc[g2["bid"].isin([f"B{i}" for i in range(3, 13)]), "floors"] = 7
    r = load(g2)
    assert (r.inserted, r.updated, r.unchanged) == (5, 10, 27)
    assert index_state(owner_db) == after  # 5 new rows next to 40: no rebuild
    with owner_db.connect() as c:
        now = {x.source_id: x for x in c.execute(text(
            "SELECT source_id, floors, loaded_at FROM building WHERE source = 'bulk'"))}
    assert len(now) == 45
    for i in range(40):
        k = f"B{i}"
        changed = 3 <= i < 13
        assert now[k].floors == (7 if changed else 2)
        assert (now[k].loaded_at == rows[k].loaded_at) == (not changed)
    r = load(g2)
    assert (r.inserted, r.updated, r.unchanged) == (0, 0, 42)
