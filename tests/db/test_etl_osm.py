"""Issue 11 §6: real OSM extracts load feature by feature; fractional building:levels kept."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import text
from support.etl import write_pbf

from etl import buildings as bld

KOTKA = Path(__file__).resolve().parents[3] / "shared" / "data" / "kotka_osm_extract.osm.pbf"
LON, LAT, D = 120.600, 31.305, 0.0002


def _square(nodes: dict[int, tuple[float, float]], first: int, x: float, y: float) -> list[int]:
    """Four nodes of a small square from ``first``; the closed way's refs."""
    for k, p in enumerate([(x, y), (x + D, y), (x + D, y + D), (x, y + D)]):
        nodes[first + k] = p
    return [first, first + 1, first + 2, first + 3, first]


def _stored(engine, source: str) -> dict[str, tuple]:
    """source_id -> (floors, properties) of one source."""
    with engine.connect() as c:
        return {r.source_id: (r.floors, r.properties) for r in c.execute(text(
            "SELECT source_id, floors, properties FROM building WHERE source = :s"),
            {"s": source})}


def test_the_real_kotka_extract_loads_and_rejects_only_its_broken_ways(clean_db,
                                                                       tmp_path) -> None:
    assert KOTKA.exists(), f"shared data missing: {KOTKA}"
    r = bld.load_file(clean_db, KOTKA, commit=True)
    assert r.rows_read == 2219  # every building polygon of the extract is read
    broken = [x for x in r.rejects if x.code == "broken_geometry"]
    assert len(broken) == 4
    assert {x.id for x in broken} == {"w369849815", "w424097719", "w424108275", "w424111969"}
    assert all("LinearRing" in x.reason and x.field == "geometry" for x in broken)
    assert r.inserted == r.rows_read - r.rejected and r.inserted > 2100
    assert len(_stored(clean_db, "kotka_osm_extract")) == r.inserted
    out = r.write(tmp_path / "kotka.json")
    assert "w424097719" in (tmp_path / "kotka.rejects.csv").read_text()
    assert json.loads(out.read_text())["rejected_by_reason"]["broken_geometry"] == 4


def test_a_way_cut_at_the_edge_is_rejected_with_its_id_and_the_rest_load(clean_db,
                                                                         tmp_path) -> None:
    nodes: dict[int, tuple[float, float]] = {}
    ways = [(100, _square(nodes, 1, LON, LAT), {"building": "yes"}),
            (101, _square(nodes, 11, LON + 0.001, LAT), {"building": "house"}),
            # cut at the extract's edge: two of its nodes are not in the file (a 2-point ring)
            (102, [1, 997, 998, 1], {"building": "yes"})]
    f = write_pbf(tmp_path / "cut.osm.pbf", nodes, ways, [])
    r = bld.load_file(clean_db, f, commit=True)
    assert (r.rows_read, r.inserted, r.rejected) == (3, 2, 1), r.to_dict()
    assert r.rejects[0].id == "w102" and r.rejects[0].code == "broken_geometry"
    assert set(_stored(clean_db, "cut")) == {"w100", "w101"}


def test_an_extract_with_non_increasing_node_ids_loads_without_any_setting(
        clean_db, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("OSM_USE_CUSTOM_INDEXING", raising=False)
    nodes: dict[int, tuple[float, float]] = {}
    ways = [(100, _square(nodes, 50, LON, LAT), {"building": "yes"}),
            (101, _square(nodes, 1, LON + 0.001, LAT), {"building": "yes"})]
    f = write_pbf(tmp_path / "unsorted.osm.pbf", nodes, ways, [], sort_nodes=False)
    r = bld.load_file(clean_db, f, commit=True)
    assert (r.inserted, r.rejected) == (2, 0), r.to_dict()
    assert any("OSM_USE_CUSTOM_INDEXING=NO" in n for n in r.notes)


def test_fractional_building_levels_are_kept(clean_db, tmp_path) -> None:
    nodes: dict[int, tuple[float, float]] = {}
    ways = [(100, _square(nodes, 1, LON, LAT), {"building": "yes", "building:levels": "2.5"}),
            (101, _square(nodes, 11, LON + 0.001, LAT), {"building": "yes",
                                                         "building:levels": "4"})]
    r = bld.load_file(clean_db, write_pbf(tmp_path / "lv.osm.pbf", nodes, ways, []),
                      commit=True)
    assert (r.inserted, r.rejected) == (2, 0), r.to_dict()
    rows = _stored(clean_db, "lv")
    assert rows["w100"][0] == 3 and rows["w100"][1]["floors_as_given"] == 2.5  # rounded up
    assert rows["w101"][0] == 4 and rows["w101"][1].get("floors_as_given") is None
    assert any("fractional" in n for n in r.notes)
    # the same from a GeoJSON with a numeric floors field
    g = gpd.GeoDataFrame({"bid": ["A", "B"], "floors": [3.5, 6.0]},
                         geometry=[shapely.box(LON, LAT, LON + D, LAT + D),
                                   shapely.box(LON + 0.001, LAT, LON + 0.001 + D, LAT + D)],
                         crs="EPSG:4326")
    g.to_file(tmp_path / "fl.geojson", driver="GeoJSON")
    r = bld.load_file(clean_db, tmp_path / "fl.geojson", id_field="bid", commit=True)
    assert (r.inserted, r.rejected) == (2, 0), r.to_dict()
    assert {k: v[0] for k, v in _stored(clean_db, "fl").items()} == {"A": 4, "B": 6}


@pytest.mark.parametrize("levels", ["-1", "300"])
def test_floors_out_of_range_are_still_rejected(clean_db, tmp_path, levels) -> None:
    nodes: dict[int, tuple[float, float]] = {}
    ways = [(100, _square(nodes, 1, LON, LAT), {"building": "yes", "building:levels": levels})]
    r = bld.load_file(clean_db, write_pbf(tmp_path / "bad.osm.pbf", nodes, ways, []))
    assert r.rejected == 1 and r.rejects[0].code == "bad_floors"
