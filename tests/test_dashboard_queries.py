"""Dashboard data functions against real PostGIS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from gis import dashboard_queries as dq


def _seed(engine) -> None:
    """Three events, two cameras and one patrol track inside the demo district."""
    with engine.begin() as conn:
        u = conn.execute(text(
            "SELECT u.code, u.grid_code, u.id, g.id AS gid, ST_X(ST_PointOnSurface(u.geom)) x,"
            " ST_Y(ST_PointOnSurface(u.geom)) y, u.generation_id FROM unit u JOIN grid g ON "
            "g.code = u.grid_code AND g.generation_id = u.generation_id ORDER BY u.code LIMIT 1"
        )).mappings().one()
        for status, due in (("reported", -1), ("closed", 5), ("accepted", 5)):
            conn.execute(text(
                "INSERT INTO event (item_code, source, reporter, geom, location_status, "
                "location_method, generation_id, grid_id, unit_id, street_code, community_code,"
                " grid_code, unit_code, status, due_at) VALUES ('safety.fire', 'worker', :w, "
                "ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'inside', 'point', :gen, :gid, :uid, "
                ":s, :c, :g, :u, :st, now() + make_interval(hours => :due))"),
                {"x": u["x"], "y": u["y"], "gen": u["generation_id"], "gid": u["gid"],
                 "uid": u["id"], "s": u["grid_code"][:9], "c": u["grid_code"][:12],
                 "g": u["grid_code"], "u": u["code"], "st": status, "due": due,
                 "w": "W" + u["grid_code"]})
        for code, dx in (("CAM-FAR", 0.0015), ("CAM-NEAR", 0.0003)):
            conn.execute(text("INSERT INTO camera (code, geom) VALUES (:c, "
                              "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                         {"c": code, "x": u["x"] + dx, "y": u["y"]})
        wid = conn.execute(text("SELECT id FROM worker WHERE code = :c"),
                           {"c": "W" + u["grid_code"]}).scalar()
        t = datetime.now(UTC).timestamp()
        conn.execute(text(
            "INSERT INTO patrol_track (worker_id, grid_code, started_at, ended_at, geom, "
            "length_m) VALUES (:w, :g, now() - interval '1 hour', now(), ST_GeomFromText("
            ":wkt, 4326), 100)"),
            {"w": wid, "g": u["grid_code"],
             "wkt": f"LINESTRING M ({u['x'] - 0.0002} {u['y']} {t - 60}, "
                    f"{u['x'] + 0.0002} {u['y']} {t})"})


def test_extent_grids_and_options(demo_district, engine) -> None:
    """The active district's extent, 32 grids with a responsible worker, filter options."""
    ext = dq.extent(engine)
    assert ext and ext["minlon"] < ext["maxlon"]
    grids = dq.grids(engine)
    assert len(grids) == 32 and all(g["worker_name"] for g in grids)
    opts = dq.filter_options(engine)
    assert len(opts["grid"]) == 32 and len(opts["classes"]) == 4
    bbox = (ext["minlon"], ext["minlat"], ext["maxlon"], ext["maxlat"])
    assert len(dq.units(engine, bbox)) == 288


def test_empty_db(clean_db) -> None:
    """No district: no extent."""
    assert dq.extent(clean_db) is None


def test_bins_events_cameras_coverage_stats(demo_district, engine) -> None:
    """Bins count on the server; filters; nearest cameras; coverage; per grid / worker."""
    _seed(engine)
    ext = dq.extent(engine)
    bbox = (ext["minlon"], ext["minlat"], ext["maxlon"], ext["maxlat"])
    f = dq.Filters(since=datetime.now(UTC) - timedelta(days=1))
    bins = dq.event_bins(engine, f, bbox, 15)
    assert bins["total"] == 3 and len(bins["bins"]) == 1 and bins["bins"][0]["open"] == 2
    s = dq.event_summary(engine, f)
    assert (s["total"], s["open"], s["overdue"]) == (3, 2, 1)
    assert dq.event_summary(engine, dq.Filters(since=f.since, overdue_only=True))["total"] == 1
    assert dq.event_summary(engine, dq.Filters(since=f.since, classes=("crime",)))["total"] == 0
    assert dq.event_summary(engine, dq.Filters(since=f.since, area="999"))["total"] == 0
    evs = dq.events(engine, f, bbox)
    assert len(evs) == 3 and evs[0]["item_name"]
    near = dq.cameras_near_event(engine, evs[0]["id"], 300)
    assert [c["code"] for c in near] == ["CAM-NEAR", "CAM-FAR"]
    assert near[0]["distance_m"] < near[1]["distance_m"]
    assert [c["code"] for c in dq.cameras_near_event(engine, evs[0]["id"], 50)] == ["CAM-NEAR"]
    assert len(dq.cameras_in_view(engine, bbox)) == 2
    cov = dq.patrol_coverage(engine, f.since, radius_m=30)
    assert len(cov) == 32 and sum(c["covered"] for c in cov.values()) >= 1
    assert all(c["covered"] == 0 for g, c in cov.items() if g != evs[0]["grid_code"])
    assert len(dq.tracks(engine, dq.today_start() - timedelta(days=1))) == 1
    stats = {g["code"]: g for g in dq.grid_stats(engine, f.since, 30)}
    g = stats[evs[0]["grid_code"]]
    assert (g["open"], g["overdue"], g["closed"]) == (2, 1, 1) and g["people"]
    assert g["coverage"] > 0
    w = {x["code"]: x for x in dq.worker_stats(engine, f.since)}["W" + evs[0]["grid_code"]]
    assert w["reports"] == 3 and w["patrols"] == 1


def test_bin_size_follows_zoom() -> None:
    """Bins halve with every zoom level; the zoom fits the box."""
    a, _ = dq.bin_size(14, 31)
    b, _ = dq.bin_size(15, 31)
    assert abs(a / b - 2) < 1e-9
    assert dq.zoom_for_bbox((120.59, 31.30, 120.61, 31.32), 900, 560) in (14, 15)
