"""Dashboard data functions against real PostGIS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from support.dashboard import cameras, seed

from gis.oversight import dashboard as dq


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
    seed(engine)
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


def test_camera_clusters(demo_district, engine) -> None:
    """Clusters add up to the cameras in view at every zoom; individual cameras (with their
    details) only from the detail zoom on or when few are in view."""
    bbox = cameras(engine, 40)
    in_view = dq.cameras_in_view(engine, bbox)
    assert len(in_view) == 40
    for zoom in (10, 12, 13, 14, 15):
        cl = dq.camera_clusters(engine, bbox, zoom)
        assert cl["total"] == 40 and sum(c["n"] for c in cl["clusters"]) == 40
        assert sum(c["offline"] for c in cl["clusters"]) == 10
        for c in cl["clusters"]:  # the centroid lies in the cluster's cell
            assert bbox[0] <= c["lon"] <= bbox[2] and bbox[1] <= c["lat"] <= bbox[3]
    assert len(dq.camera_clusters(engine, bbox, 10)["clusters"]) < 40  # aggregated
    # a view holding part of the district: the clusters count only the cameras in it
    half = (bbox[0], bbox[1], (bbox[0] + bbox[2]) / 2, bbox[3])
    n_half = len(dq.cameras_in_view(engine, half))
    assert 0 < n_half < 40 and dq.camera_clusters(engine, half, 13)["total"] == n_half

    low = dq.camera_layer(engine, bbox, 12, detail_zoom=16, few=10)
    assert low["mode"] == "clusters" and low["cameras"] == [] and low["total"] == 40
    assert low["offline"] == 10 and len(low["clusters"]) < 40
    high = dq.camera_layer(engine, bbox, 16, detail_zoom=16, few=10)
    assert high["mode"] == "cameras" and high["clusters"] == [] and len(high["cameras"]) == 40
    c = high["cameras"][0]
    assert {"code", "name", "kind", "status", "direction_deg", "lon", "lat"} <= set(c)
    few = dq.camera_layer(engine, bbox, 12, detail_zoom=16, few=40)  # few in view: details
    assert few["mode"] == "cameras" and len(few["cameras"]) == 40


def test_units_simplified_to_zoom(demo_district, engine) -> None:
    """Unit outlines are simplified to the zoom (never more vertices than the exact ones)."""
    ext = dq.extent(engine)
    bbox = (ext["minlon"], ext["minlat"], ext["maxlon"], ext["maxlat"])
    exact = dq.units(engine, bbox)
    coarse = dq.units(engine, bbox, zoom=12)
    assert [u["code"] for u in exact] == [u["code"] for u in coarse]

    def vertices(us):
        return sum(len(ring) for u in us for poly in u["geometry"]["coordinates"]
                   for ring in poly)

    assert vertices(coarse) <= vertices(exact)


def test_cameras_and_units_limited_to_the_viewers_area(demo_district, engine) -> None:
    """A community's viewer gets the cameras standing in its grids and its units only (counts
    and clusters too); the district centre (no scope) gets every one."""
    from sqlalchemy import text

    bbox = cameras(engine, 120)
    seed(engine)
    with engine.connect() as conn:
        mine = conn.execute(text("SELECT DISTINCT community_code FROM event")).scalar_one()
        inside = set(conn.execute(text(
            "SELECT c.code FROM camera c JOIN grid g ON ST_Contains(g.geom, c.geom) "
            "JOIN generation gen ON gen.id = g.generation_id AND gen.status = 'active' "
            "WHERE g.code LIKE :p"), {"p": mine + "%"}).scalars())
        n_units = conn.execute(text(
            "SELECT count(*) FROM unit u JOIN generation gen ON gen.id = u.generation_id "
            "AND gen.status = 'active' WHERE u.grid_code LIKE :p"), {"p": mine + "%"}
        ).scalar_one()
    assert 0 < len(inside) < 122 and {"CAM-NEAR"} <= inside
    scope = (mine,)
    every = dq.camera_layer(engine, bbox, 19)
    assert every["total"] == 122 and len(every["cameras"]) == 122
    cams = dq.camera_layer(engine, bbox, 19, scope=scope)
    assert {c["code"] for c in cams["cameras"]} == inside and cams["total"] == len(inside)
    clusters = dq.camera_layer(engine, bbox, 10, few=0, scope=scope)
    assert clusters["mode"] == "clusters"
    assert sum(c["n"] for c in clusters["clusters"]) == len(inside) == clusters["total"]
    assert dq.camera_layer(engine, bbox, 10, few=0, scope=())["total"] == 0
    units = dq.units(engine, bbox, scope=scope)
    assert len(units) == n_units < 288 and all(u["grid_code"].startswith(mine) for u in units)
    assert len(dq.units(engine, bbox)) == 288
    ev = dq.events(engine, dq.Filters(since=datetime(2020, 1, 1, tzinfo=UTC)))[0]
    assert [c["code"] for c in dq.cameras_near_event(engine, ev["id"], 50, scope=scope)] == [
        "CAM-NEAR"]
    assert dq.cameras_near_event(engine, ev["id"], 300, scope=("999",)) == []


def test_overdue_events_most_late_first_with_assignee(demo_district, engine) -> None:
    """Open events past their limit, most late first, with hours late and the assigned
    worker's name; closed ones and other areas are left out; not limited to the window."""
    from sqlalchemy import text

    seed(engine)
    with engine.begin() as conn:
        acc = conn.execute(text("SELECT id, grid_code FROM event WHERE status = 'accepted'")
                           ).one()
        conn.execute(text(
            "UPDATE event SET due_at = now() - interval '5 hours', reported_at = now() - "
            "interval '3 days', worker_id = (SELECT id FROM worker WHERE code = :w) "
            "WHERE id = :id"), {"id": acc.id, "w": "W" + acc.grid_code})
        conn.execute(text("UPDATE event SET due_at = now() - interval '9 hours' "
                          "WHERE status = 'closed'"))
        name = conn.execute(text("SELECT name FROM worker WHERE code = :w"),
                            {"w": "W" + acc.grid_code}).scalar_one()
    f = dq.Filters(since=dq.today_start())
    rows = dq.overdue(engine, f)
    assert [r["status"] for r in rows] == ["accepted", "reported"]
    assert rows[0]["id"] == acc.id and rows[0]["worker_name"] == name
    assert 4.9 < rows[0]["hours_late"] < 5.1 and 0.9 < rows[1]["hours_late"] < 1.1
    assert rows[1]["worker_name"] is None and rows[0]["level"] == "grid"
    assert rows[0]["due_at"] < rows[1]["due_at"]
    assert len(dq.overdue(engine, dq.Filters(since=f.since, scope=(acc.grid_code[:12],)))) == 2
    assert dq.overdue(engine, dq.Filters(since=f.since, scope=("999",))) == []
    assert dq.overdue(engine, dq.Filters(since=f.since, area="999")) == []
