"""Tests for gis.geo.datum against gcoord 1.0.7 control vectors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from gis.geo.datum import (
    Datum,
    UnknownDatumError,
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    haversine_m,
    parse_datum,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

CSV_PATH = Path(__file__).resolve().parents[3] / "shared" / "data" / "coord_vectors.csv"
TOL_M = 0.01
COLUMNS = ("wgs84_lon", "wgs84_lat", "gcj02_lon", "gcj02_lat", "bd09_lon", "bd09_lat")


@pytest.fixture(scope="module")
def vectors() -> dict[str, np.ndarray]:
    """Load the control vectors as float arrays keyed by column name; fail if missing."""
    if not CSV_PATH.is_file():
        pytest.fail(f"control data missing: {CSV_PATH}")
    with CSV_PATH.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 309
    return {c: np.array([float(r[c]) for r in rows]) for c in COLUMNS}


def _max_err(a: tuple, b_lon: np.ndarray, b_lat: np.ndarray) -> float:
    """Return the largest distance in metres between converted and expected points."""
    return float(np.max(haversine_m(a[0], a[1], b_lon, b_lat)))


def test_forward_wgs84_to_gcj02(vectors: dict[str, np.ndarray]) -> None:
    out = wgs84_to_gcj02(vectors["wgs84_lon"], vectors["wgs84_lat"])
    assert _max_err(out, vectors["gcj02_lon"], vectors["gcj02_lat"]) < TOL_M


def test_forward_wgs84_to_bd09(vectors: dict[str, np.ndarray]) -> None:
    out = wgs84_to_bd09(vectors["wgs84_lon"], vectors["wgs84_lat"])
    assert _max_err(out, vectors["bd09_lon"], vectors["bd09_lat"]) < TOL_M


def test_forward_gcj02_to_bd09(vectors: dict[str, np.ndarray]) -> None:
    out = gcj02_to_bd09(vectors["gcj02_lon"], vectors["gcj02_lat"])
    assert _max_err(out, vectors["bd09_lon"], vectors["bd09_lat"]) < TOL_M


def test_inverse_gcj02_to_wgs84(vectors: dict[str, np.ndarray]) -> None:
    out = gcj02_to_wgs84(vectors["gcj02_lon"], vectors["gcj02_lat"])
    assert _max_err(out, vectors["wgs84_lon"], vectors["wgs84_lat"]) < TOL_M


def test_inverse_bd09_to_wgs84(vectors: dict[str, np.ndarray]) -> None:
    out = bd09_to_wgs84(vectors["bd09_lon"], vectors["bd09_lat"])
    assert _max_err(out, vectors["wgs84_lon"], vectors["wgs84_lat"]) < TOL_M


def test_inverse_bd09_to_gcj02(vectors: dict[str, np.ndarray]) -> None:
    out = bd09_to_gcj02(vectors["bd09_lon"], vectors["bd09_lat"])
    assert _max_err(out, vectors["gcj02_lon"], vectors["gcj02_lat"]) < TOL_M


def test_round_trips_vectorised(vectors: dict[str, np.ndarray]) -> None:
    lon, lat = vectors["wgs84_lon"], vectors["wgs84_lat"]
    assert _max_err(gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat)), lon, lat) < TOL_M
    assert _max_err(bd09_to_wgs84(*wgs84_to_bd09(lon, lat)), lon, lat) < TOL_M


def test_round_trips_scalar_match_vectorised(vectors: dict[str, np.ndarray]) -> None:
    lon, lat = vectors["wgs84_lon"], vectors["wgs84_lat"]
    funcs = (wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84, bd09_to_gcj02)
    vec = {f: f(lon, lat) for f in funcs}
    for i in range(lon.size):
        x, y = float(lon[i]), float(lat[i])
        for f in funcs:
            sx, sy = f(x, y)
            assert isinstance(sx, float) and isinstance(sy, float)
            assert sx == pytest.approx(vec[f][0][i], abs=1e-9)
            assert sy == pytest.approx(vec[f][1][i], abs=1e-9)
        g = wgs84_to_gcj02(x, y)
        assert haversine_m(*gcj02_to_wgs84(*g), x, y) < TOL_M
        b = wgs84_to_bd09(x, y)
        assert haversine_m(*bd09_to_wgs84(*b), x, y) < TOL_M


def test_array_shape_preserved() -> None:
    lon = np.array([[114.0579, 116.3975], [121.4737, 113.2644]])
    lat = np.array([[22.5431, 39.9087], [31.2304, 23.1291]])
    for f in (wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84):
        x, y = f(lon, lat)
        assert isinstance(x, np.ndarray) and x.shape == lon.shape
        assert isinstance(y, np.ndarray) and y.shape == lat.shape


def test_outside_china_unchanged() -> None:
    paris = (2.3522, 48.8566)
    assert wgs84_to_gcj02(*paris) == paris
    assert gcj02_to_wgs84(*paris) == paris
    # BD-09 is applied everywhere, and still inverts cleanly.
    bd = wgs84_to_bd09(*paris)
    assert haversine_m(*bd, *paris) > 100.0
    assert haversine_m(*bd09_to_wgs84(*bd), *paris) < TOL_M


def test_inside_china_shifted() -> None:
    lon, lat = 114.0579, 22.5431
    assert 100.0 < haversine_m(*wgs84_to_gcj02(lon, lat), lon, lat) < 1000.0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("WGS84", Datum.WGS84),
        ("wgs84", Datum.WGS84),
        ("EPSG:4326", Datum.WGS84),
        ("epsg:4326", Datum.WGS84),
        ("4326", Datum.WGS84),
        ("gcj-02", Datum.GCJ02),
        ("gcj02", Datum.GCJ02),
        ("GCJ02", Datum.GCJ02),
        ("GCJ-02", Datum.GCJ02),
        ("bd-09", Datum.BD09),
        ("bd09", Datum.BD09),
        ("BD09", Datum.BD09),
        ("EPSG:4490", Datum.CGCS2000),
        ("4490", Datum.CGCS2000),
        ("cgcs2000", Datum.CGCS2000),
        ("CGCS2000", Datum.CGCS2000),
        (Datum.BD09, Datum.BD09),
    ],
)
def test_parse_datum_aliases(name: str, expected: Datum) -> None:
    assert parse_datum(name) is expected


def test_datum_values() -> None:
    assert [d.value for d in Datum] == ["wgs84", "gcj02", "bd09", "cgcs2000"]
    assert Datum("gcj02") == "gcj02"


@pytest.mark.parametrize("name", ["osgb36", "EPSG:3857", "", "gcj"])
def test_parse_datum_unknown(name: str) -> None:
    with pytest.raises(UnknownDatumError) as excinfo:
        parse_datum(name)
    assert isinstance(excinfo.value, ValueError)
    message = str(excinfo.value)
    assert repr(name) in message
    for accepted in ("wgs84", "epsg:4326", "gcj02", "bd09", "cgcs2000", "epsg:4490"):
        assert accepted in message


def test_cgcs2000_identity(vectors: dict[str, np.ndarray]) -> None:
    lon, lat = vectors["wgs84_lon"], vectors["wgs84_lat"]
    for name in ("cgcs2000", "EPSG:4490", Datum.CGCS2000, "wgs84"):
        x, y = to_wgs84(lon, lat, name)
        np.testing.assert_array_equal(x, lon)
        np.testing.assert_array_equal(y, lat)
        x, y = from_wgs84(lon, lat, name)
        np.testing.assert_array_equal(x, lon)
        np.testing.assert_array_equal(y, lat)
    assert to_wgs84(114.0579, 22.5431, "4490") == (114.0579, 22.5431)


def test_dispatch_matches_direct(vectors: dict[str, np.ndarray]) -> None:
    lon, lat = vectors["wgs84_lon"], vectors["wgs84_lat"]
    g = from_wgs84(lon, lat, "GCJ-02")
    assert _max_err(g, vectors["gcj02_lon"], vectors["gcj02_lat"]) < TOL_M
    b = from_wgs84(lon, lat, "bd09")
    assert _max_err(b, vectors["bd09_lon"], vectors["bd09_lat"]) < TOL_M
    assert _max_err(to_wgs84(*g, Datum.GCJ02), lon, lat) < TOL_M
    assert _max_err(to_wgs84(*b, "BD-09"), lon, lat) < TOL_M
    with pytest.raises(UnknownDatumError):
        to_wgs84(lon, lat, "mars")


def test_haversine_m() -> None:
    # One degree of latitude on the mean sphere is ~111.195 km.
    assert haversine_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_195.08, rel=1e-6)
    assert haversine_m(114.0, 22.0, 114.0, 22.0) == 0.0
    d = haversine_m(np.zeros(3), np.zeros(3), np.zeros(3), np.array([0.0, 1.0, 2.0]))
    assert isinstance(d, np.ndarray) and d.shape == (3,)
    np.testing.assert_allclose(d, [0.0, 111_195.08, 222_390.16], rtol=1e-6)
