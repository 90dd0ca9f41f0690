"""The live map stays light: grid outlines compact (1e-5°, within a metre of the stored ones),
served once as a cached resource holding only the caller's grids, and a refresh's map script
naming that resource instead of carrying the outlines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import Polygon, shape
from sqlalchemy import text
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from support.dashboard import seed as _seed

from dashboard import mapview
from gis.geo.datum import haversine_m

LIVE = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture()
def db_env(settings, monkeypatch):
    """DATABASE_URL of the test database for the app under test, caches cleared."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    for name in ("WANGGE_BASEMAP_URL", "WANGGE_BASEMAP_FILE"):
        monkeypatch.delenv(name, raising=False)
    import streamlit as st

    st.cache_data.clear()
    return settings


def _decoded(payload: str) -> dict[str, list[Polygon]]:
    """The grid shapes of a payload as polygons (the browser's decoding, in Python)."""
    out = {}
    for code, *_rest, polys in json.loads(payload)["g"]:
        rings = []
        for ring in polys[0]:
            x = y = 0
            pts = []
            for i in range(0, len(ring), 2):
                x, y = x + ring[i], y + ring[i + 1]
                pts.append((x / mapview.GRID_SCALE, y / mapview.GRID_SCALE))
            rings.append(pts)
        out[code] = Polygon(rings[0], rings[1:])
    return out


@pytest.fixture()
def served(monkeypatch) -> list[tuple[bytes, str]]:
    """What pages put in Streamlit's media store (content, mimetype), recorded."""
    seen: list[tuple[bytes, str]] = []
    add = MediaFileManager.add

    def record(self, data, mimetype, *args, **kw):
        """Record, then store as usual."""
        seen.append((data, mimetype))
        return add(self, data, mimetype, *args, **kw)

    monkeypatch.setattr(MediaFileManager, "add", record)
    return seen


def test_outlines_are_within_a_metre_and_compact(engine, demo_district) -> None:
    """Every decoded outline lies within ~1.5 m of the stored grid (Hausdorff), and the
    compact outlines take less than half the room of the grids' GeoJSON."""
    from gis.oversight import dashboard as dq

    grids = dq.grids(engine)
    shapes = mapview.grid_shapes(grids)
    back = _decoded(shapes.payload)
    assert set(back) == {g["code"] for g in grids}
    for g in grids:
        stored = shape(g["geometry"])
        d = stored.hausdorff_distance(back[g["code"]])  # degrees
        lat = stored.centroid.y
        assert haversine_m(0, lat, d, lat) < 1.5 and haversine_m(0, lat, 0, lat + d) < 1.5
    geojson = len(json.dumps([g["geometry"] for g in grids]))
    compact = len(json.dumps([row[4] for row in json.loads(shapes.payload)["g"]]))
    assert compact < geojson / 2


def test_one_page_carries_the_shapes_once(engine, demo_district) -> None:
    """A whole-page map (no Streamlit server) has the shapes once, however many grid layers
    draw them; a served map names the resource instead."""
    from gis.oversight import dashboard as dq

    grids = dq.grids(engine)
    cov = {g["code"]: {"units": 2, "covered": 1, "share": 0.5} for g in grids}
    view = mapview.MapView((31.3, 120.6), 13, grids=grids, coverage=cov)
    html = mapview.build_map(view).get_root().render()
    first = grids[0]["code"]
    assert html.count(f'["{first}"') == 1  # the shapes' row of the first grid: once
    shapes = mapview.grid_shapes(grids)
    groups: list = []
    served = mapview.MapView((31.3, 120.6), 13, coverage=cov, grid_shapes=mapview.GridShapes(
        shapes.key, shapes.payload, "../../media/abc.json"))
    m = mapview.build_map(served, dynamic=groups)
    for i, fg in enumerate(groups):  # as streamlit-folium adds them
        fg._id = f"group_{i}"
        fg.add_to(m)
    script = m.get_root().render()
    assert f'["{first}"' not in script and script.count("../../media/abc.json") == 3


def test_the_page_serves_only_the_callers_grids(db_env, demo_district, engine,
                                                 served) -> None:
    """The live page of a community dispatcher serves the grid shapes of their community only;
    the district centre's page serves every grid."""
    from gis.access.auth import create_token

    _seed(engine)
    with engine.connect() as conn:
        mine = conn.execute(text("SELECT DISTINCT community_code FROM event")).scalar_one()
        codes = set(conn.execute(text(
            "SELECT g.code FROM grid g JOIN generation gen ON gen.id = g.generation_id AND "
            "gen.status = 'active'")).scalars())
    for role, area in (("community_dispatcher", mine), ("district_centre", None)):
        at = AppTest.from_file(str(LIVE), default_timeout=30)
        at.session_state["wg_lang"] = "en"
        at.session_state["wg_token"] = create_token(engine, role, area, name="weight")["token"]
        at.run()
        assert not at.exception, at.exception
        payloads = [d.decode() for d, mime in served if mime == "application/json"]
        assert payloads, "no grid shapes served"
        drawn = set(_decoded(payloads[-1]))
        expect = {c for c in codes if area is None or c.startswith(area)}
        assert drawn == expect and (area is None or len(drawn) < len(codes))
        assert {"application/javascript", "text/css"} <= {mime for _d, mime in served}
        served.clear()


def test_the_live_page_folds_the_tally(db_env, demo_district, engine, monkeypatch) -> None:
    """Events stored through the triggers leave appended tally changes; a run of the live page
    folds them into event_tally (what it shows unchanged), so later refreshes sum few rows."""
    from dashboard import data
    from gis.access.auth import create_token

    _seed(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event_tally_delta")).scalar_one() > 0
    monkeypatch.setitem(data._folded_at, "t", float("-inf"))
    at = AppTest.from_file(str(LIVE), default_timeout=30)
    at.session_state["wg_lang"] = "en"
    at.session_state["wg_token"] = create_token(engine, "district_centre", None,
                                                name="fold")["token"]
    at.run()
    assert not at.exception, at.exception
    assert any(f"{m.label}={m.value}" == "Events=3" for m in at.metric)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event_tally_delta")).scalar_one() == 0
        assert conn.execute(text("SELECT sum(n) FROM event_tally WHERE hours = 1")
                            ).scalar_one() == conn.execute(text(
                                "SELECT count(*) FROM event")).scalar_one()
