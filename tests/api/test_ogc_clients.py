"""Real OGC API – Features clients against the served API: GDAL's OAPIF driver (through
pyogrio) and OWSLib list the collections and read every feature of each, pages included,
in two CRSs; what they read matches PostGIS."""

from __future__ import annotations

import pyogrio
import pytest
from owslib.ogcapi.features import Features
from sqlalchemy import text
from support.apiserver import api_process
from support.dashboard import seed

from gis.access import auth

COUNTS = {"streets": "street", "communities": "community", "grids": "grid", "units": "unit"}
OTHERS = {"buildings": "building", "cameras": "camera", "events": "event",
          "patrol_tracks": "patrol_track"}
DRAFTS = {"draft_grids": 0, "draft_units": 0}  # no draft open: empty layers


@pytest.fixture()
def served(settings, demo_district, engine):
    """The API in its own process with the demo district, three events, two cameras, a track
    and two buildings; a district-centre token."""
    seed(engine)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO building (source_id, floors, geom) SELECT 'B' || g.code, 3, "
            "ST_Multi(ST_Buffer(ST_PointOnSurface(g.geom)::geography, 8)::geometry) "
            "FROM grid g ORDER BY g.code LIMIT 2"))
    token = auth.create_token(engine, "district_centre", name="clients")["token"]
    with api_process(settings) as base:
        yield base + "/ogc", token


def _expected(engine) -> dict[str, int]:
    """Features per collection, counted in PostGIS (active generation for the territory)."""
    with engine.connect() as conn:
        out = {k: conn.execute(text(
            f"SELECT count(*) FROM {t} x JOIN generation g ON g.id = x.generation_id "
            "AND g.status = 'active'")).scalar() for k, t in COUNTS.items()}
        out |= {k: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for k, t in OTHERS.items()}
    return out | DRAFTS


def test_gdal_reads_every_collection_in_pages_in_two_crss(served, engine) -> None:
    """OAPIF with a page size of 7: every feature once, in CRS84 and in EPSG:3857."""
    url, token = served
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BASIC",
                                     "GDAL_HTTP_USERPWD": f"qgis:{token}"})
    try:
        layers = [str(n) for n, _t in pyogrio.list_layers(f"OAPIF:{url}")]
        expected = _expected(engine)
        assert sorted(layers) == sorted(expected)
        for layer in layers:
            plain = pyogrio.read_dataframe(f"OAPIF:{url}", layer=layer, PAGE_SIZE=7)
            metric = pyogrio.read_dataframe(f"OAPIF:{url}", layer=layer, PAGE_SIZE=7,
                                            CRS="EPSG:3857")
            assert len(plain) == len(metric) == expected[layer], layer
            assert metric.crs.to_epsg() == 3857
            if len(plain):
                back = metric.to_crs(4326).geometry.iloc[0].centroid
                assert back.distance(plain.geometry.iloc[0].centroid) < 1e-6, layer
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_USERPWD": None})


def test_owslib_lists_collections_and_pages_through_the_units(served, engine) -> None:
    """OWSLib's Features with a bearer header: landing, conformance, collections, items."""
    url, token = served
    api = Features(url, headers={"Authorization": f"Bearer {token}"})
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in \
        api.conformance()["conformsTo"]
    assert len(api.feature_collections()) == 10
    seen, offset = set(), 0
    while True:
        page = api.collection_items("units", limit=100, offset=offset,
                                    crs="http://www.opengis.net/def/crs/EPSG/0/4326")
        seen |= {f["id"] for f in page["features"]}
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 100
    assert len(seen) == _expected(engine)["units"] == page["numberMatched"]
    lat, lon = page["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 31 < lat < 32 and 120 < lon < 121  # EPSG:4326: latitude first
