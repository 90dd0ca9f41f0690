"""Generations: round trip, activation (events follow), concurrency, rollback, partial imports."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

import shapely
from sqlalchemy import Engine, text

from boundaries import activate as act
from boundaries.core import run_import
from boundaries.export import feature_collection, write
from gis import catalogue, synthetic
from gis.errors import Conflict
from gis.events import OPEN_STATUSES, Report, ingest
from gis.locator import Locator

BOUNDS = (120.5920, 31.3000, 120.6140, 31.3190)
STATE = ("SELECT md5(string_agg(concat_ws(',', id, generation_id, grid_id, unit_id, grid_code, "
         "unit_code, worker_id, location_status, distance_m, street_code, community_code, "
         "status), ';' ORDER BY id)) FROM event")


def item(engine: Engine) -> str:
    """An active catalogue item code."""
    with engine.connect() as c:
        return sorted(catalogue.active_items(c))[0]


def report_events(engine: Engine, locator: Locator, n: int, seed: int = 1) -> None:
    """Store ``n`` events at random points around the district (some outside it)."""
    rnd = random.Random(seed)
    it = item(engine)
    reps = [Report(item=it, lon=rnd.uniform(120.5915, 120.6145),
                   lat=rnd.uniform(31.2995, 31.3195)) for _ in range(n)]
    ingest(engine, locator, reps)


def redrawn(path: Path, seed: int = 43) -> Path:
    """The demo district with another jitter seed: same codes, moved boundaries."""
    recs = synthetic.generate(seed=seed)
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": r.code, "name": r.name,
                                           "parent_code": r.parent_code, "kind": r.kind,
                                           "level": r.level},
         "geometry": shapely.geometry.mapping(r.geom)} for r in recs]}
    path.write_text(json.dumps(fc))
    return path


def assert_matches_locator(engine: Engine) -> None:
    """Every open event is where the locator (active generation) would put it."""
    snap = Locator(engine).refresh(force=True)
    with engine.connect() as c:
        rows = c.execute(text(
            "SELECT e.id, ST_X(geom) AS x, ST_Y(geom) AS y, grid_code, unit_code, w.code AS "
            "worker, location_status, distance_m, generation_id FROM event e LEFT JOIN worker w "
            "ON w.id = e.worker_id WHERE status = ANY(:s)"), {"s": list(OPEN_STATUSES)}).all()
    assert rows
    for r in rows:
        loc = snap.locate_wgs84(r.x, r.y)
        assert (loc.grid, loc.unit, loc.worker, loc.status, loc.generation) == (
            r.grid_code, r.unit_code, r.worker, r.location_status, r.generation_id), r
        # the locator measures in a local plane, PostGIS on the spheroid: within 0.5 %
        d = r.distance_m or 0
        assert abs((loc.distance_m or 0) - d) <= 0.005 * d + 0.01


def test_round_trip_export_import_export(engine: Engine, demo_district: int,
                                         tmp_path: Path) -> None:
    """import → export → import gives identical geometries and codes."""
    a = tmp_path / "a.geojson"
    with engine.connect() as c:
        write(c, a)
    res = run_import(engine, a, commit=True)
    assert res.exit_code == 0, res.report["problems"]
    gen2 = res.report["generation"]
    assert gen2 != demo_district
    with engine.connect() as c:
        fc1 = feature_collection(c, demo_district)
        fc2 = feature_collection(c, gen2)
    assert len(fc1["features"]) == len(fc2["features"]) == 331
    for f1, f2 in zip(fc1["features"], fc2["features"], strict=True):
        assert f1["properties"] == f2["properties"]
        g1, g2 = shapely.geometry.shape(f1["geometry"]), shapely.geometry.shape(f2["geometry"])
        assert shapely.to_wkb(g1) == shapely.to_wkb(g2)
    assert res.report["preview"]["totals"]["grids_changed"] == 0


def test_preview_changes_nothing_then_commit_moves_events(engine: Engine, demo_district: int,
                                                          tmp_path: Path) -> None:
    """Without commit nothing changes; with commit open events follow, history written."""
    loc = Locator(engine)
    report_events(engine, loc, 150)
    with engine.begin() as c:  # one closed event must never move
        c.execute(text("UPDATE event SET status = 'closed' WHERE id = 1"))
    with engine.connect() as c:
        before = c.execute(text(STATE)).scalar()
        closed = c.execute(text("SELECT grid_id, generation_id FROM event WHERE id = 1")).one()
    path = redrawn(tmp_path / "r.geojson")
    res = run_import(engine, path)
    assert res.exit_code == 0
    moving = res.report["preview"]["totals"]["events_moving"]
    assert moving > 0 and res.report["preview"]["totals"]["grids_changed"] == 32
    with engine.connect() as c:
        assert c.execute(text(STATE)).scalar() == before
        assert c.execute(text("SELECT count(*) FROM generation")).scalar() == 1
    res = run_import(engine, path, commit=True)
    assert res.report["committed"] and res.report["activation"]["moved"] == moving
    assert_matches_locator(engine)
    with engine.connect() as c:
        assert c.execute(text("SELECT grid_id, generation_id FROM event WHERE id = 1")
                         ).one() == closed
        h = c.execute(text("SELECT data FROM event_history WHERE action = 'reassigned' "
                           "LIMIT 1")).scalar()
    assert {"from", "to"} <= set(h) and h["to"]["generation"] == res.report["generation"]


def test_rollback_restores_generation_and_assignments(engine: Engine, demo_district: int,
                                                      tmp_path: Path) -> None:
    """Rollback brings back the previous generation and exactly the former assignments."""
    loc = Locator(engine)
    report_events(engine, loc, 120, seed=5)
    with engine.begin() as c:  # a dispatcher's manual re-assignment must survive too
        c.execute(text("UPDATE event SET worker_id = (SELECT min(id) FROM worker) WHERE id = 3"))
    with engine.connect() as c:
        before = c.execute(text(STATE)).scalar()
    res = run_import(engine, redrawn(tmp_path / "r.geojson"), commit=True)
    new_gen = res.report["generation"]
    report_events(engine, loc, 20, seed=9)  # reported while the new generation is active
    with engine.begin() as c:
        out = act.rollback(c)
    assert out["generation"] == demo_district and out["rolled_back"] == new_gen
    assert out["restored"] == 120 and out["relocated"] == 20
    with engine.connect() as c:
        assert c.execute(text("SELECT id FROM generation WHERE status = 'active'")
                         ).scalar() == demo_district
        state = c.execute(text(STATE.replace("FROM event", "FROM event WHERE id <= 120"))
                          ).scalar()
        assert state == before
        n_stale = c.execute(text("SELECT count(*) FROM event WHERE generation_id <> :g"),
                            {"g": demo_district}).scalar()
    assert n_stale == 0


def test_activation_under_concurrent_reports(engine: Engine, demo_district: int,
                                             tmp_path: Path) -> None:
    """Reports streaming in while a generation activates: none lost, none in a stale grid."""
    loc = Locator(engine, poll_s=0.05)
    loc.refresh(force=True)
    it = item(engine)
    stop = threading.Event()
    sent: list[int] = []
    errors: list[BaseException] = []

    retries: list[int] = []

    def stream(seed: int) -> None:
        """One client: report, and retry on 503 territory_changing as the API says."""
        rnd = random.Random(seed)
        while not stop.is_set():
            rep = Report(item=it, lon=rnd.uniform(120.5925, 120.6135),
                         lat=rnd.uniform(31.3005, 31.3185))
            for _attempt in range(10):
                try:
                    ingest(engine, loc, [rep])
                    sent.append(1)
                    break
                except Conflict as e:
                    if e.code != "territory_changing":
                        errors.append(e)
                        break
                    retries.append(1)
                except BaseException as e:  # noqa: BLE001 - reported below
                    errors.append(e)
                    break

    threads = [threading.Thread(target=stream, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    try:
        path = redrawn(tmp_path / "r.geojson")
        for _ in range(2):
            res = run_import(engine, path, commit=True)
            assert res.report["committed"]
            time.sleep(0.2)
            with engine.begin() as c:
                act.rollback(c)
            time.sleep(0.2)
        res = run_import(engine, path, commit=True)
        assert res.report["committed"]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:3]
    active = res.report["generation"]
    with engine.connect() as c:
        stored = c.execute(text("SELECT count(*) FROM event")).scalar()
        stale = c.execute(text(
            "SELECT count(*) FROM event e JOIN grid g ON g.id = e.grid_id "
            "WHERE e.status = ANY(:s) AND (g.generation_id <> :a OR e.generation_id <> :a)"),
            {"s": list(OPEN_STATUSES), "a": active}).scalar()
    assert stored == len(sent) > 0
    assert stale == 0
    assert_matches_locator(engine)


def test_partial_import_keeps_other_levels(engine: Engine, demo_district: int,
                                           tmp_path: Path) -> None:
    """A units-only file replaces the units and copies the other levels."""
    with engine.connect() as c:
        fc = feature_collection(c)
    fc["features"] = [f for f in fc["features"] if f["properties"]["level"] == "unit"]
    for f in fc["features"]:
        f["properties"]["name"] = "renamed " + f["properties"]["name"]
    p = tmp_path / "units.geojson"
    p.write_text(json.dumps(fc))
    res = run_import(engine, p, commit=True)
    assert res.exit_code == 0 and res.report["levels"] == ["unit"]
    with engine.connect() as c:
        counts = c.execute(text(
            "SELECT (SELECT count(*) FROM grid WHERE generation_id = :g), "
            "(SELECT count(*) FROM unit WHERE generation_id = :g AND name LIKE 'renamed%')"),
            {"g": res.report["generation"]}).one()
    assert tuple(counts) == (32, 288)


def test_dropping_grids_orphans_kept_units(engine: Engine, demo_district: int,
                                           tmp_path: Path) -> None:
    """A grids-only file that drops a grid would orphan its (kept) units: blocking."""
    with engine.connect() as c:
        fc = feature_collection(c)
    fc["features"] = [f for f in fc["features"] if f["properties"]["level"] == "grid"][1:]
    p = tmp_path / "grids.geojson"
    p.write_text(json.dumps(fc))
    res = run_import(engine, p)
    assert res.exit_code == 1
    assert any(x["check"] == "orphan" for x in res.report["problems"])
    assert any(x["check"] == "gap" for x in res.report["problems"])
