"""Issue 11 §6: several GeoPackage layers refused; GBK / GB18030 CSVs from Excel read."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import text
from typer.testing import CliRunner

from etl import buildings as bld
from etl import cameras, roster
from etl.common import EtlError

LON, LAT = 120.600, 31.305


def boxes(n: int, dx: float = 0.0) -> gpd.GeoDataFrame:
    """n small buildings with ids."""
    return gpd.GeoDataFrame(
        {"bid": [f"B{i}" for i in range(n)]},
        geometry=[shapely.box(LON + dx + i * 5e-4, LAT, LON + dx + i * 5e-4 + 2e-4, LAT + 2e-4)
                  for i in range(n)], crs="EPSG:4326")


def cli(args: list[str]):
    """Run ``wangge`` with these arguments."""
    from wangge.cli import app

    return CliRunner().invoke(app, args)


def test_a_geopackage_with_several_layers_needs_layer(clean_db, settings, tmp_path,
                                                      monkeypatch) -> None:
    f = tmp_path / "two.gpkg"
    boxes(2).to_file(f, driver="GPKG", layer="lou_2024")
    boxes(3, 0.01).to_file(f, driver="GPKG", layer="lou_2025")
    with pytest.raises(EtlError, match="'lou_2024', 'lou_2025'.*`layer` option") as e:
        bld.load_file(clean_db, f, id_field="bid", commit=True)
    assert e.value.code == "several_layers" and e.value.details[0]["field"] == "layer"
    with clean_db.connect() as c:
        assert c.execute(text("SELECT count(*) FROM building")).scalar_one() == 0
    r = bld.load_file(clean_db, f, id_field="bid", layer="lou_2025", commit=True)
    assert r.inserted == 3
    one = tmp_path / "one.gpkg"
    boxes(2).to_file(one, driver="GPKG", layer="only")
    assert bld.load_file(clean_db, one, id_field="bid").inserted == 2  # one layer: no --layer
    # cameras from a GeoPackage: the same rule
    cams = tmp_path / "cams.gpkg"
    pts = gpd.GeoDataFrame({"code": ["K1"]}, geometry=[shapely.Point(LON, LAT)], crs=4326)
    pts.to_file(cams, driver="GPKG", layer="cams_a")
    pts.to_file(cams, driver="GPKG", layer="cams_b")
    with pytest.raises(EtlError, match="'cams_a', 'cams_b'") as e:
        cameras.load_file(clean_db, cams)
    assert e.value.code == "several_layers"
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.chdir(tmp_path)
    res = cli(["etl", "buildings", str(f), "--id-field", "bid"])
    assert res.exit_code == 2, res.output
    assert "several_layers" in res.output and "lou_2024" in res.output


def test_gbk_csvs_from_excel_load_and_say_so(demo_district, engine, settings, tmp_path,
                                            monkeypatch) -> None:
    with engine.connect() as c:
        grid = c.execute(text("SELECT code FROM grid ORDER BY code LIMIT 1")).scalar_one()
    cams = tmp_path / "cams.csv"
    cams.write_bytes(("code,name,lon,lat,type\n"
                      f"K1,人民路口东,{LON},{LAT},球机\n").encode("gbk"))
    r = cameras.load_file(engine, cams, commit=True)
    assert (r.inserted, r.rejected, r.encoding) == (1, 0, "GB18030 (GBK)"), r.to_dict()
    assert r.to_dict()["encoding"] == "GB18030 (GBK)"
    wkt = shapely.box(LON, LAT, LON + 2e-4, LAT + 2e-4).wkt
    blds = tmp_path / "lou.csv"
    blds.write_bytes(f'bid,name,wkt\nA,甲栋,"{wkt}"\n'.encode("gb18030"))
    r = bld.load_file(engine, blds, id_field="bid", commit=True)
    assert (r.inserted, r.encoding) == (1, "GB18030 (GBK)"), r.to_dict()
    ros = tmp_path / "ros.csv"
    ros.write_bytes(("worker_code,name,phone,id_number,role,area_code,valid_from,valid_to\n"
                     f"Z1,张三,,,专职网格员,{grid},,\n").encode("gbk"))
    r = roster.load_file(engine, ros, commit=True)
    assert (r.inserted, r.rejected, r.encoding) == (1, 0, "GB18030 (GBK)"), r.to_dict()
    with engine.connect() as c:
        assert c.execute(text("SELECT name FROM camera WHERE code = 'K1'")).scalar_one() \
            == "人民路口东"
        assert c.execute(text("SELECT name FROM building WHERE source_id = 'A'")).scalar_one() \
            == "甲栋"
        assert c.execute(text("SELECT name FROM worker WHERE code = 'Z1'")).scalar_one() == "张三"
    # UTF-8 with a BOM (Excel's "CSV UTF-8") is told apart, and the BOM is not in the header
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + "code,name,lon,lat\nK2,西门,120.601,31.305\n".encode())
    r = cameras.load_file(engine, bom)
    assert (r.inserted, r.encoding) == (1, "UTF-8 (with BOM)"), r.to_dict()
    # --encoding on the command line
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.chdir(tmp_path)
    for kind, f in (("cameras", cams), ("buildings", blds), ("roster", ros)):
        res = cli(["etl", kind, str(f), "--encoding", "gbk"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["encoding"] == "GB18030 (GBK)"
    res = cli(["etl", "cameras", str(cams), "--encoding", "utf-8"])
    assert res.exit_code == 2 and "bad_encoding" in res.output
    res = cli(["etl", "cameras", str(cams), "--encoding", "klingon"])
    assert res.exit_code == 2 and "unknown_encoding" in res.output


def test_a_utf8_csv_cut_mid_character_is_still_utf8(clean_db, tmp_path: Path) -> None:
    f = tmp_path / "cut.csv"
    f.write_bytes("code,name,lon,lat\nK1,东门,120.6,31.305\nK2,西".encode()[:-1])
    r = cameras.load_file(clean_db, f)
    assert r.encoding == "UTF-8" and r.inserted >= 1
