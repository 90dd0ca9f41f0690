"""One CRS resolver (gis.geo.crs): every spelling the README names reads the same everywhere.

Boundary files (``wangge boundaries import --crs``), building files (``wangge etl buildings
--crs``) and a file's declared CRS all resolve through ``gis.geo.crs.resolve``; points (the
locator, reports, tracks, cameras) accept its datum names. No database needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from boundaries.model import UnreadableFile
from boundaries.reader import read
from etl import buildings
from etl.common import EtlError, Report
from gis.errors import InvalidInput
from gis.geo.crs import Method, UnknownCrsError, resolve
from gis.geo.datum import Datum, UnknownDatumError, from_wgs84
from gis.territory.locator import datum_or_error

# Wuhan: inside EPSG:4547's zone (CM 114E) and China's GCJ-02 box.
SQUARE = shapely.Polygon([(114.300, 30.600), (114.302, 30.600), (114.302, 30.602),
                          (114.300, 30.602), (114.300, 30.600)])
# spelling → (method, datum named, boundaries' label)
README_SPELLINGS = {
    "wgs84": (Method.NONE, Datum.WGS84, "wgs84"),
    "WGS84": (Method.NONE, Datum.WGS84, "wgs84"),
    "EPSG:4326": (Method.NONE, Datum.WGS84, "wgs84"),
    "gcj02": (Method.DATUM_SHIFT, Datum.GCJ02, "gcj02"),
    "bd09": (Method.DATUM_SHIFT, Datum.BD09, "bd09"),
    "cgcs2000": (Method.NONE, Datum.CGCS2000, "cgcs2000"),
    "EPSG:4490": (Method.NONE, Datum.CGCS2000, "cgcs2000"),
    "EPSG:4547": (Method.PROJ, None, "EPSG:4547"),
    "EPSG:3857": (Method.PROJ, None, "EPSG:3857"),
    "EPSG:32650": (Method.PROJ, None, "EPSG:32650"),
}


def _in(spelling: str, geom: shapely.Geometry) -> shapely.Geometry:
    """``geom`` (WGS84) written in the CRS ``spelling`` names (the forward conversion)."""
    r = resolve(spelling)
    if r.shift is not None:
        return shapely.transform(geom, lambda xy: np.column_stack(
            from_wgs84(xy[:, 0], xy[:, 1], r.shift)))
    if r.method is Method.PROJ:
        tr = Transformer.from_crs("EPSG:4326", r.crs, always_xy=True)
        return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0],
                                                                                xy[:, 1])))
    return geom


def _geojson(path: Path, geom: shapely.Geometry) -> Path:
    """A one-grid GeoJSON file with no declared CRS."""
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"code": "320508001001001", "bid": "B1"},
        "geometry": shapely.geometry.mapping(geom)}]}))
    return path


def _etl_wgs84(gdf: gpd.GeoDataFrame, crs: str | None) -> tuple[shapely.Geometry, Report]:
    """The one building ``etl.buildings.prepare`` makes of ``gdf`` (WGS84), and its report."""
    report = Report("buildings", "x")
    out = buildings.prepare(gdf, report, crs=crs, id_field="bid")
    assert len(out) == 1, report.rejects
    return out.geometry.iloc[0], report


@pytest.mark.parametrize("spelling", list(README_SPELLINGS))
def test_every_readme_spelling_resolves_as_documented(spelling: str) -> None:
    """wgs84 / EPSG:4326, gcj02, bd09, cgcs2000 / EPSG:4490 and projected CRSs."""
    method, datum, label = README_SPELLINGS[spelling]
    r = resolve(spelling)
    assert (r.method, r.datum, r.label) == (method, datum, label)
    assert r.crs.is_geographic == (method is not Method.PROJ)


@pytest.mark.parametrize("spelling", list(README_SPELLINGS))
def test_boundaries_and_etl_read_every_spelling_to_the_same_wgs84(spelling: str,
                                                                  tmp_path: Path) -> None:
    """The same square given in any CRS comes back as the same WGS84 square from both."""
    given = _in(spelling, SQUARE)
    src = read(_geojson(tmp_path / "g.geojson", given), crs=spelling, level="grid")
    assert src.crs == resolve(spelling).label
    from_boundaries = src.features[0].geom
    gdf = gpd.GeoDataFrame({"bid": ["B1"]}, geometry=[given], crs=None)
    from_etl, report = _etl_wgs84(gdf, spelling)
    for g in (from_boundaries, from_etl):
        assert shapely.hausdorff_distance(g, SQUARE) < 1e-7  # degrees: about a centimetre
    assert shapely.hausdorff_distance(from_boundaries, from_etl) < 1e-9
    if resolve(spelling).shift is not None:
        assert report.crs == f"EPSG:4326 ({spelling})"


@pytest.mark.parametrize("epsg", [4547, 3857, 4490])
def test_a_declared_crs_reads_the_same_from_boundaries_and_etl(epsg: int,
                                                               tmp_path: Path) -> None:
    """No --crs: the CRS a GeoPackage declares is resolved the same way by both."""
    gdf = gpd.GeoDataFrame({"code": ["320508001001001"], "bid": ["B1"]},
                           geometry=[SQUARE], crs=4326).to_crs(epsg)
    path = tmp_path / "d.gpkg"
    gdf.to_file(path, driver="GPKG")
    src = read(path, level="grid")
    assert src.crs == resolve(f"EPSG:{epsg}").label  # cgcs2000 for EPSG:4490
    assert resolve(gdf.crs).method is resolve(src.crs).method
    from_etl, _ = _etl_wgs84(buildings.read_buildings(path), None)
    for g in (src.features[0].geom, from_etl):
        assert shapely.hausdorff_distance(g, SQUARE) < 1e-7


def test_an_unknown_crs_is_refused_everywhere_with_its_name() -> None:
    """Boundaries: unreadable file; ETL: unknown_crs on the crs field; a point: unknown_datum."""
    with pytest.raises(UnknownCrsError, match="unknown CRS 'marsdatum'"):
        resolve("marsdatum")
    with pytest.raises(UnreadableFile, match="unknown CRS 'marsdatum'"):
        from boundaries.reader import _resolved

        _resolved("marsdatum")
    with pytest.raises(EtlError) as e:
        buildings.resolve_crs(None, "marsdatum", [])
    assert e.value.code == "unknown_crs" and "marsdatum" in str(e.value)
    with pytest.raises(InvalidInput) as e2:
        datum_or_error("marsdatum")
    assert e2.value.code == "unknown_datum" and e2.value.details[0]["field"] == "crs"
    assert "unknown datum 'marsdatum'" in e2.value.details[0]["reason"]


def test_points_take_the_datum_names_only() -> None:
    """A point's crs is a datum (any spelling); a projected CRS is refused, naming the names."""
    for spelling, (_m, datum, _l) in README_SPELLINGS.items():
        if datum is not None:
            assert resolve(spelling, points=True).datum is datum
            assert datum_or_error(spelling) is datum
    with pytest.raises(UnknownDatumError, match="accepted names"):
        resolve("EPSG:4547", points=True)
    assert datum_or_error(None) is Datum.WGS84


def test_the_resolver_converts_points_like_the_datum_module() -> None:
    """GCJ-02 / BD-09 points: the resolver's transform is gis.geo.datum's inverse."""
    lon, lat = 120.6010, 31.3100
    for d in (Datum.GCJ02, Datum.BD09):
        x, y = from_wgs84(lon, lat, d)
        back = resolve(d.value).to_wgs84(x, y)
        assert abs(back[0] - lon) < 1e-9 and abs(back[1] - lat) < 1e-9
