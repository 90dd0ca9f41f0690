"""Locator edge cases on a hand-built territory and on the generated demo district."""

from __future__ import annotations

import time

import numpy as np
import pytest
import support.territory as T
from sqlalchemy import text

from gis.api.errors import status_for
from gis.errors import InvalidInput, WanggeError
from gis.geo.datum import Datum, from_wgs84, haversine_m
from gis.territory import generations as territory
from gis.territory.locator import Locator


@pytest.fixture()
def hand(clean_db):
    """The hand-built territory with its people; returns a fresh Locator."""
    T.load(clean_db)
    T.load_people(clean_db)
    return Locator(clean_db, outside_max_m=300.0, poll_s=0.05)


# -- where a point lands ---------------------------------------------------------------------

def test_strictly_inside_a_unit(hand):
    loc = hand.locate(120.602, 31.302)
    assert (loc.status, loc.grid, loc.unit) == ("inside", T.G1, T.U1A)
    assert (loc.community, loc.street, loc.district) == (T.C, T.S, T.D)
    assert loc.worker == "W1" and loc.grid_kind == "basic" and loc.distance_m is None
    assert loc.generation is not None and loc.method == "point"
    d = loc.to_dict()
    assert {"lon", "lat", "status", "grid", "unit", "community", "street", "worker"} <= d.keys()
    assert "grid_id" not in d and "worker_id" not in d


def test_edge_shared_by_two_grids_lowest_code_wins(hand):
    # G1 | G2 edge at lon 120.61: units on both sides (U1b, U2a) and where G2 has no unit
    for lat in (31.301, 31.303, 31.3049, 31.305, 31.308, 31.3099):
        answers = {hand.locate(120.61, lat).grid for _ in range(20)}
        assert answers == {T.G1}, lat
    # G2 / G3 edge at lat 31.31: G2 has no unit there; G3 has none west of 120.615 and U3a
    # east of it. The grid rule comes first: G2 (lowest code), and no unit (U3a is not in G2).
    for lon in (120.6101, 120.615, 120.617, 120.6199):
        assert {hand.locate(lon, 31.31).grid for _ in range(20)} == {T.G2}, lon
        assert hand.locate(lon, 31.31).unit is None
    assert hand.locate(120.617, 31.3101).unit == T.U3A
    # G4 | G6 edge: G4 is the lower code
    assert hand.locate(120.64, 31.31).grid == T.G4


def test_vertex_shared_by_three_grids(hand):
    loc = hand.locate(120.61, 31.31)          # G1, G2, G3 meet here
    assert (loc.status, loc.grid, loc.unit) == ("inside", T.G1, T.U1B)
    loc = hand.locate(120.62, 31.31)          # G2, G3, G4 meet here
    assert (loc.status, loc.grid) == ("inside", T.G2)
    snap = hand.snapshot
    for x, y in ((120.61, 31.31), (120.62, 31.31), (120.61, 31.30), (120.62, 31.32)):
        assert snap.locate_wgs84(x, y).status == "inside"   # never "no grid"


def test_in_a_grid_but_in_no_unit(hand):
    loc = hand.locate(120.617, 31.307)
    assert (loc.status, loc.grid, loc.unit) == ("inside", T.G2, None)
    assert loc.worker == "L1"                 # grid leader fallback
    loc = hand.locate(120.61, 31.315)         # G3 outside its one unit
    assert (loc.status, loc.grid, loc.unit) == ("inside", T.G3, None)


def test_hole_outside_nearest_then_unassigned(hand):
    cx, cy = (T.H1[0] + T.H1[2]) / 2, (T.H1[1] + T.H1[3]) / 2
    loc = hand.locate(cx, cy)
    assert (loc.status, loc.grid, loc.unit) == ("outside", T.G4, None)
    assert 90 < loc.distance_m < 100          # 0.001 deg of longitude at 31.3 N ~ 95 m
    # the same point with a smaller snapping distance is unassigned
    small = Locator(hand.engine, outside_max_m=50.0)
    loc = small.locate(cx, cy)
    assert (loc.status, loc.grid, loc.worker, loc.distance_m) == ("unassigned", None, None, None)
    # on the hole's edge: covered by G4
    assert hand.locate(T.H1[0], cy).status == "inside"
    # a hole filled by another grid: that grid
    loc = hand.locate((T.H2[0] + T.H2[2]) / 2, (T.H2[1] + T.H2[3]) / 2)
    assert (loc.status, loc.grid, loc.worker) == ("inside", T.G5, None)


def test_outside_every_grid(hand):
    loc = hand.locate(120.5995, 31.305)       # 0.0005 deg west of G1 ~ 47.5 m
    assert (loc.status, loc.grid) == ("outside", T.G1)
    assert 45 < loc.distance_m < 50
    assert loc.worker == "W1"
    far = hand.locate(121.5, 31.3)
    assert (far.status, far.grid, far.unit, far.community, far.street, far.worker) == (
        "unassigned", None, None, None, None, None)
    beyond = hand.locate(120.5960, 31.305)    # ~380 m west: beyond 300 m
    assert beyond.status == "unassigned"


def test_special_grid_kind(hand):
    loc = hand.locate(120.65, 31.31)
    assert (loc.status, loc.grid, loc.grid_kind, loc.unit, loc.worker) == (
        "inside", T.G6, "port", None, None)


def test_worker_rules(hand):
    assert hand.locate(120.602, 31.302).worker == "W1"     # full-time first
    assert hand.locate(120.617, 31.307).worker == "L1"     # leader when no full-time
    assert hand.locate(120.61, 31.315).worker == "L3"      # expired full-time ignored
    assert hand.locate(120.63, 31.31).worker is None       # only an expired role
    snap = hand.snapshot
    assert snap.responsible(T.G6) is None
    # a role that starts in the future does not count yet
    with hand.engine.begin() as conn:
        conn.execute(text("UPDATE grid_role SET valid_from = now() + interval '1 day' "
                          "WHERE area_code = :g AND role = 'full_time'"), {"g": T.G1})
    hand.refresh(force=True)
    assert hand.locate(120.602, 31.302).worker == "L1"


# -- datums --------------------------------------------------------------------------------

def test_datums_land_in_the_same_grid(hand):
    lon, lat = 120.6025, 31.3025
    want = hand.locate(lon, lat)
    assert want.unit == T.U1A
    for datum in (Datum.GCJ02, Datum.BD09, Datum.CGCS2000, Datum.WGS84):
        x, y = from_wgs84(lon, lat, datum)
        loc = hand.locate(x, y, datum.value)
        assert (loc.grid, loc.unit) == (want.grid, want.unit), datum
        assert haversine_m(loc.lon, loc.lat, lon, lat) < 0.01
        assert loc.input["crs"] == datum.value
    x, y = from_wgs84(lon, lat, Datum.CGCS2000)
    assert (x, y) == (lon, lat)
    # a GCJ-02 point taken as WGS84 lands 300-700 m off
    gx, gy = from_wgs84(lon, lat, Datum.GCJ02)
    wrong = hand.locate(gx, gy, "wgs84")
    assert 300 <= haversine_m(wrong.lon, wrong.lat, lon, lat) <= 700
    assert wrong.unit != T.U1A


def test_unknown_datum_and_bad_coordinates(hand):
    with pytest.raises(InvalidInput) as e:
        hand.locate(120.6, 31.3, "utm50")
    assert e.value.code == "unknown_datum" and e.value.details[0]["field"] == "crs"
    for lon, lat, code, field in ((float("nan"), 31.3, "not_finite", "lon"),
                                  (120.6, float("inf"), "not_finite", "lat"),
                                  (190.0, 31.3, "out_of_range", "lon"),
                                  (120.6, -91.0, "out_of_range", "lat"),
                                  ("x", 31.3, "not_a_number", "lon")):
        with pytest.raises(InvalidInput) as e:
            hand.locate(lon, lat)
        assert e.value.code == code and e.value.details[0]["field"] == field
    with pytest.raises(InvalidInput) as e:
        hand.locate(31.305, 120.602)           # swapped
    assert e.value.code == "swapped_coordinates"


# -- bulk vs single vs PostGIS ---------------------------------------------------------------

def postgis_answer(conn, gen: int, xs, ys) -> list[tuple[str | None, str | None]]:
    """(grid, unit) per point in SQL: the lowest-code grid that ST_Covers the point, and the
    lowest-code unit of that grid that covers it."""
    rows = conn.execute(text(
        "WITH p AS (SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) AS pt FROM "
        "unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS t(x, y, i)) "
        "SELECT p.i, g.code AS grid, (SELECT min(u.code) FROM unit u WHERE u.generation_id = "
        ":gen AND u.grid_code = g.code AND ST_Covers(u.geom, p.pt)) AS unit FROM p "
        "LEFT JOIN LATERAL (SELECT min(code) AS code FROM grid WHERE generation_id = :gen "
        "AND ST_Covers(geom, p.pt)) g ON true ORDER BY p.i"),
        {"xs": list(map(float, xs)), "ys": list(map(float, ys)), "gen": gen}).all()
    return [(r.grid, r.unit) for r in rows]


def compare_all(loc: Locator, engine, xs, ys) -> None:
    """locate_many == locate_wgs84 == PostGIS ST_Covers (lowest code) on every point."""
    snap = loc.snapshot
    g, u, dist = snap.locate_many(xs, ys)
    g_in, _u_in, _ = snap.locate_many(xs, ys, with_outside=False)
    with engine.connect() as conn:
        pg = postgis_answer(conn, snap.generation, xs, ys)
    for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
        one = snap.locate_wgs84(float(x), float(y))
        bulk_grid = snap.grid_codes[g[k]] if g[k] >= 0 else None
        bulk_unit = snap.unit_codes[u[k]] if u[k] >= 0 else None
        assert (one.grid, one.unit) == (bulk_grid, bulk_unit), (x, y)
        if one.status == "outside":
            assert abs(one.distance_m - dist[k]) < 0.01
        inside_grid = snap.grid_codes[g_in[k]] if g_in[k] >= 0 else None
        assert (inside_grid, bulk_unit) == pg[k], (x, y, inside_grid, bulk_unit, pg[k])
        assert (one.status == "inside") == (pg[k][0] is not None)


def test_bulk_single_and_postgis_agree_on_demo_district(demo_district, engine):
    loc = Locator(engine)
    snap = loc.snapshot
    assert snap.generation == demo_district and len(snap.grid_codes) == 32
    rng = np.random.default_rng(11)
    b = np.array([g.bounds for g in snap.grid_geoms])
    minx, miny, maxx, maxy = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    xs = rng.uniform(minx - 0.004, maxx + 0.004, 3000)
    ys = rng.uniform(miny - 0.004, maxy + 0.004, 3000)
    # plus every vertex of every unit: shared edges and vertices of the lattice
    verts = np.concatenate([np.asarray(p.exterior.coords) for p in
                            (g.geoms[0] for g in snap.unit_geoms)])
    verts = np.unique(verts, axis=0)
    xs, ys = np.concatenate([xs, verts[:, 0]]), np.concatenate([ys, verts[:, 1]])
    compare_all(loc, engine, xs, ys)
    g, _u, _d = snap.locate_many(xs, ys)
    assert (g >= 0).sum() > 2000 and (g < 0).any()


def test_bulk_single_and_postgis_agree_on_hand_territory(hand, engine):
    rng = np.random.default_rng(12)
    xs = rng.uniform(120.595, 120.665, 3000)
    ys = rng.uniform(31.295, 31.325, 3000)
    # points on the lattice lines (shared edges and vertices) and hole edges
    lx = np.round(np.arange(120.60, 120.6601, 0.0025), 4)
    ly = np.round(np.arange(31.30, 31.3201, 0.0025), 4)
    gx, gy = np.meshgrid(lx, ly)
    xs = np.concatenate([xs, gx.ravel(), [T.H1[0], T.H2[0], 120.61, 120.615]])
    ys = np.concatenate([ys, gy.ravel(), [T.H1[1], T.H2[1], 31.305, 31.305]])
    compare_all(hand, engine, xs, ys)


# -- refresh without restart -----------------------------------------------------------------

def test_picks_up_role_and_generation_changes(hand):
    assert hand.locate(120.602, 31.302).worker == "W1"
    rev = hand.snapshot.revision
    with hand.engine.begin() as conn:
        conn.execute(text("UPDATE grid_role SET valid_to = now() WHERE area_code = :g "
                          "AND role = 'full_time'"), {"g": T.G1})
    time.sleep(0.1)
    loc = hand.locate(120.602, 31.302)
    assert hand.snapshot.revision > rev
    assert loc.worker == "L1"
    old_gen = loc.generation
    # a new generation moves the G1 | G2 edge 0.004 deg east
    new_gen = T.load(hand.engine, shift=0.004)
    time.sleep(0.1)
    loc = hand.locate(120.612, 31.308)        # was G2, now inside G1
    assert (loc.generation, loc.grid, loc.unit) == (new_gen, T.G1, T.U1B)
    assert new_gen != old_gen
    with hand.engine.connect() as conn:
        assert territory.active_generation(conn) == new_gen


def test_listener_refreshes_on_notify(hand):
    """With polling effectively off, NOTIFY wangge_territory alone brings the change in."""
    loc = Locator(hand.engine, poll_s=3600)
    assert loc.locate(120.602, 31.302).worker == "W1"
    loc.start_listener()
    try:
        time.sleep(0.3)                       # let the LISTEN connection start
        with hand.engine.begin() as conn:
            conn.execute(text("UPDATE grid_role SET valid_to = now() WHERE area_code = :g "
                              "AND role = 'full_time'"), {"g": T.G1})
        deadline = time.monotonic() + 10
        while loc.locate(120.602, 31.302).worker != "L1":
            assert time.monotonic() < deadline, "no refresh after NOTIFY"
            time.sleep(0.05)
    finally:
        loc.stop_listener()


def test_no_active_generation_is_unassigned(clean_db):
    loc = Locator(clean_db).locate(120.6, 31.3)
    assert loc.status == "unassigned" and loc.generation is None


# -- buildings and addresses -----------------------------------------------------------------

def test_building_and_address(hand):
    bid = T.insert_building(hand.engine, "B-17", "No. 17 Renmin Road", 120.612, 31.302)
    loc = hand.locate_building(bid)
    assert (loc.method, loc.status, loc.grid, loc.unit) == ("building", "inside", T.G2, T.U2A)
    assert loc.input == {"building_id": bid}
    assert hand.locate_building(str(bid)).grid == T.G2
    assert hand.locate_building("B-17").input == {"building_id": bid}    # by source id
    loc = hand.locate_address("  no. 17 RENMIN road ")
    assert (loc.method, loc.grid, loc.input["building_id"]) == ("address", T.G2, bid)
    assert hand.locate_address("No. 99 Nowhere") is None
    with pytest.raises(WanggeError) as e:
        hand.locate_building(999999)
    assert status_for(e.value) == 422 and e.value.code == "unknown_building"
    # two buildings with the same address: ambiguous, not guessed
    T.insert_building(hand.engine, "B-18", "No. 17 Renmin Road", 120.602, 31.302)
    assert hand.locate_address("No. 17 Renmin Road") is None


def test_snapshot_pieces_without_database():
    """Stray units, grids without units and unit-less remainders, on a Snapshot directly."""
    from types import SimpleNamespace as NS

    import shapely

    from gis.territory.locator import Snapshot

    def grid(i, code, geom):
        return NS(id=i, code=code, name=code, kind="basic", community_code="c",
                  street_code="s", district_code="d",
                  wkb=shapely.to_wkb(shapely.MultiPolygon([geom])))

    def unit(i, code, grid_code, geom):
        return NS(id=i, code=code, grid_code=grid_code,
                  wkb=shapely.to_wkb(shapely.MultiPolygon([geom])))

    b = shapely.box
    grids = [grid(1, "A", b(0, 0, 1, 1)), grid(2, "B", b(1, 0, 2, 1)), grid(3, "C", b(2, 0, 3, 1))]
    units = [unit(1, "A1", "A", b(0, 0, 0.5, 1)),          # A half covered
             unit(2, "B1", "B", b(1, 0, 2, 1)),            # B tiled
             unit(3, "B2", "B", b(1, 1, 2, 1.2))]          # sticks out of every grid
    snap = Snapshot(7, 1, grids, units, [], 0.0)
    assert snap.units is not None                          # stray fallback index built
    cases = {(0.2, 0.5): ("A", "A1"), (0.7, 0.5): ("A", None), (1.0, 0.5): ("A", None),
             (1.5, 0.5): ("B", "B1"), (2.5, 0.5): ("C", None), (1.5, 1.1): ("B", "B2"),
             (0.5, 0.5): ("A", "A1"), (1.5, 1.0): ("B", "B1"), (5, 5): (None, None)}
    for (x, y), want in cases.items():
        loc = snap.locate_wgs84(x, y)
        assert (loc.grid, loc.unit) == want, (x, y)
    xs = np.array([p[0] for p in cases], dtype=float)
    ys = np.array([p[1] for p in cases], dtype=float)
    g, u, _ = snap.locate_many(xs, ys)
    got = [(snap.grid_codes[a] if a >= 0 else None, snap.unit_codes[c] if c >= 0 else None)
           for a, c in zip(g, u, strict=True)]
    assert got == list(cases.values())
    empty = Snapshot(None, 0, [], [], [], 300.0)
    assert empty.locate_wgs84(1.0, 1.0).status == "unassigned"
    assert empty.locate_many(np.array([1.0]), np.array([1.0]))[0].tolist() == [-1]
