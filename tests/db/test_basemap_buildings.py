"""Buildings for the map without a basemap: only those in the box, only when zoomed in."""

from __future__ import annotations

from sqlalchemy import Engine, text

from dashboard import basemap
from gis.oversight import dashboard as dq
from gis.settings import Settings

INSERT = ("INSERT INTO building (source_id, name, address, geom) VALUES "
          "(:sid, :name, :addr, ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)))")
BOX = (120.610, 31.295, 120.630, 31.305)  # minlon, minlat, maxlon, maxlat


def _buildings(owner_db: Engine) -> None:
    """Two buildings in the box, one far outside it."""
    rows = [("in-1", "1幢", "平江路1号", 120.6150, 31.2990, 120.6153, 31.2993),
            ("in-2", "2幢", "平江路2号", 120.6200, 31.3000, 120.6203, 31.3003),
            ("out", "远处", "虎丘路9号", 120.5800, 31.3300, 120.5803, 31.3303)]
    with owner_db.begin() as conn:
        for sid, name, addr, x0, y0, x1, y1 in rows:
            conn.execute(text(INSERT), {"sid": sid, "name": name, "addr": addr,
                                        "x0": x0, "y0": y0, "x1": x1, "y1": y1})


def test_buildings_are_read_by_bbox(owner_db: Engine, engine: Engine) -> None:
    """The read model returns the buildings intersecting the box, as GeoJSON, no others."""
    _buildings(owner_db)
    got = dq.buildings(engine, BOX, zoom=17)
    assert sorted(b["name"] for b in got) == ["1幢", "2幢"]
    assert got[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert got[0]["address"] == "平江路1号"
    assert dq.buildings(engine, (120.0, 30.0, 120.1, 30.1)) == []
    assert len(dq.buildings(engine, BOX, limit=1)) == 1


def test_the_dashboard_loader_draws_buildings_only_zoomed_in(
        owner_db: Engine, settings: Settings) -> None:
    """Below zoom 16 nothing is loaded (too many to read); from 16 on, the box's buildings."""
    _buildings(owner_db)
    url = settings.database_url
    assert basemap.buildings(url, BOX, basemap.BUILDING_ZOOM - 1) == []
    assert {b["name"] for b in basemap.buildings(url, BOX, basemap.BUILDING_ZOOM)} == {
        "1幢", "2幢"}
