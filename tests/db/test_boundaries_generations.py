"""Generations: round trip, activation (events follow), concurrency, rollback, partial imports."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import Engine, text

from boundaries.core import run_import, table
from boundaries.export import feature_collection, write
from gis.errors import Conflict
from gis.intake import catalogue
from gis.intake.events import OPEN_STATUSES, Report, ingest
from gis.territory import activation as act
from gis.territory import synthetic
from gis.territory.locator import Locator

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


def assert_matches_locator(engine: Engine, skip: frozenset[int] = frozenset()) -> None:
    """Every open event's current assignment is what the locator (active generation) gives.

    Codes are the identity across generations: grid / unit / community / street codes, worker
    and location status must equal the locator's answer and exist in the active generation;
    generation_id / grid_id / unit_id are the rows the event was last located against (not
    necessarily the active generation's), and those rows carry the same codes.
    """
    snap = Locator(engine).refresh(force=True)
    with engine.connect() as c:
        rows = c.execute(text(
            "SELECT e.id, ST_X(e.geom) AS x, ST_Y(e.geom) AS y, e.grid_code, e.unit_code, "
            "e.community_code, e.street_code, w.code AS worker, e.location_status, "
            "e.distance_m, e.generation_id, g.code AS row_grid, u.code AS row_unit, "
            "ag.code AS active_grid, au.code AS active_unit "
            "FROM event e LEFT JOIN worker w ON w.id = e.worker_id "
            "LEFT JOIN grid g ON g.id = e.grid_id LEFT JOIN unit u ON u.id = e.unit_id "
            "LEFT JOIN grid ag ON ag.generation_id = :a AND ag.code = e.grid_code "
            "LEFT JOIN unit au ON au.generation_id = :a AND au.code = e.unit_code "
            "WHERE e.status = ANY(:s)"),
            {"s": list(OPEN_STATUSES), "a": snap.generation}).all()
    assert rows
    for r in rows:
        if r.id in skip:
            continue
        loc = snap.locate_wgs84(r.x, r.y)
        assert (loc.grid, loc.unit, loc.community, loc.street, loc.worker, loc.status) == (
            r.grid_code, r.unit_code, r.community_code, r.street_code, r.worker,
            r.location_status), r
        assert (r.active_grid, r.active_unit) == (r.grid_code, r.unit_code), r
        assert (r.row_grid, r.row_unit) == (r.grid_code, r.unit_code), r
        if r.generation_id == snap.generation:
            # the locator measures in a local plane, PostGIS on the spheroid: within 0.5 %
            d = r.distance_m or 0
            assert abs((loc.distance_m or 0) - d) <= 0.005 * d + 0.01


def swapped_grids(engine: Engine, path: Path) -> tuple[Path, set[str]]:
    """The active territory with the geometries of two grids of one community (and of their
    units, pairwise) exchanged: only those two grids change."""
    with engine.connect() as c:
        fc = feature_collection(c)
    feats = fc["features"]
    grids = [f for f in feats if f["properties"]["level"] == "grid"]
    a, b = next((x, y) for x in grids for y in grids
                if x is not y and x["properties"]["parent_code"] == y["properties"]["parent_code"])
    ca, cb = a["properties"]["code"], b["properties"]["code"]
    a["geometry"], b["geometry"] = b["geometry"], a["geometry"]
    ua = sorted((f for f in feats if f["properties"].get("parent_code") == ca
                 and f["properties"]["level"] == "unit"), key=lambda f: f["properties"]["code"])
    ub = sorted((f for f in feats if f["properties"].get("parent_code") == cb
                 and f["properties"]["level"] == "unit"), key=lambda f: f["properties"]["code"])
    assert len(ua) == len(ub) > 0
    for x, y in zip(ua, ub, strict=True):
        x["geometry"], y["geometry"] = y["geometry"], x["geometry"]
    path.write_text(json.dumps(fc))
    return path, {ca, cb}


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
    # the bulk store wrote the same area_piece rows the per-row trigger writes, and left the
    # triggers enabled
    pieces = ("SELECT level, code, string_agg(encode(ST_AsEWKB(geom), 'hex'), ',' ORDER BY "
              "encode(ST_AsEWKB(geom), 'hex')) FROM area_piece WHERE generation_id = :g "
              "GROUP BY 1, 2 ORDER BY 1, 2")
    with engine.connect() as c:
        p1 = c.execute(text(pieces), {"g": demo_district}).all()
        p2 = c.execute(text(pieces), {"g": gen2}).all()
        enabled = c.execute(text("SELECT array_agg(tgenabled::text) FROM pg_trigger WHERE "
                                 "tgname IN ('grid_piece_sync', 'unit_piece_sync')")).scalar()
    assert len(p1) == 32 + 288 and p1 == p2
    assert enabled == ["O", "O"]


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
    # exactly the events the activation moved are restored (event 3 among them: its manual
    # worker differs from the grid's); the 20 reported meanwhile are re-located
    assert out["restored"] == res.report["activation"]["moved"] > 0
    assert out["relocated"] == 20
    with engine.connect() as c:
        assert c.execute(text("SELECT id FROM generation WHERE status = 'active'")
                         ).scalar() == demo_district
        state = c.execute(text(STATE.replace("FROM event", "FROM event WHERE id <= 120"))
                          ).scalar()
        assert state == before
        n_stale = c.execute(text("SELECT count(*) FROM event WHERE id <= 120 AND "
                                 "generation_id <> :g"), {"g": demo_district}).scalar()
    assert n_stale == 0
    assert_matches_locator(engine, skip=frozenset({3}))  # 3: the manual worker, restored


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
        # no open event has a grid code the active generation lacks
        stale = c.execute(text(
            "SELECT count(*) FROM event e WHERE e.status = ANY(:s) AND e.grid_code IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM grid g WHERE g.generation_id = :a "
            "AND g.code = e.grid_code)"), {"s": list(OPEN_STATUSES), "a": active}).scalar()
    assert stored == len(sent) > 0
    assert stale == 0
    # and every open event's codes / worker / status are what the active locator gives
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


def test_preview_counts_unit_edits_per_grid(engine: Engine, demo_district: int,
                                            tmp_path: Path) -> None:
    """Merging two neighbouring units of one grid: the preview counts one unit changed and
    one removed, in that grid's row and the totals; nothing is written without --commit."""
    with engine.connect() as c:
        fc = feature_collection(c)
        gens = c.execute(text("SELECT count(*) FROM generation")).scalar_one()
    units = [f for f in fc["features"] if f["properties"]["level"] == "unit"]
    pair = next((a, b) for a in units for b in units
                if a is not b and a["properties"]["parent_code"] == b["properties"]["parent_code"]
                and shape(a["geometry"]).intersection(shape(b["geometry"])).length > 0)
    a, b = pair
    a["geometry"] = mapping(shape(a["geometry"]).union(shape(b["geometry"])))
    fc["features"] = [f for f in units if f is not b]
    p = tmp_path / "merged.geojson"
    p.write_text(json.dumps(fc))
    res = run_import(engine, p)
    assert res.exit_code == 0, res.report["problems"]
    tot = res.report["preview"]["totals"]
    assert (tot["units_added"], tot["units_removed"], tot["units_changed"]) == (0, 1, 1)
    assert (tot["grids_added"], tot["grids_removed"], tot["grids_changed"]) == (0, 0, 0)
    grid = a["properties"]["parent_code"]
    row = next(g for g in res.report["preview"]["grids"] if g["grid"] == grid)
    assert (row["units_removed"], row["units_changed"], row["change"]) == (1, 1, "unchanged")
    out = table(res.report)
    assert "units: 0 added, 1 removed, 1 changed" in out
    assert any(line.split()[:4] == [grid, "unchanged", "+0-1~1", "0"]
               for line in out.splitlines()), out
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM generation")).scalar_one() == gens


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


def test_activation_writes_only_moving_events(engine: Engine, demo_district: int,
                                             tmp_path: Path) -> None:
    """Changing two grids rewrites only their events: the others keep their very row versions
    (same xmin) and get no history row; rollback restores exactly the moved ones."""
    loc = Locator(engine)
    report_events(engine, loc, 300, seed=11)
    physical = ("SELECT id, xmin::text AS x, grid_code, (SELECT count(*) FROM event_history h "
                "WHERE h.event_id = e.id) AS h FROM event e ORDER BY id")
    with engine.connect() as c:
        before = {r.id: r for r in c.execute(text(physical))}
        state = c.execute(text(STATE)).scalar()
    path, changed = swapped_grids(engine, tmp_path / "swap.geojson")
    res = run_import(engine, path, commit=True)
    assert res.exit_code == 0, res.report["problems"]
    assert res.report["preview"]["totals"]["grids_changed"] == 2
    a = res.report["activation"]
    inside = {i for i, r in before.items() if r.grid_code in changed}
    assert inside and a["relocated"] == 300 and a["moved"] == len(inside)
    with engine.connect() as c:
        after = {r.id: r for r in c.execute(text(physical))}
        saved = {r[0] for r in c.execute(text(
            "SELECT event_id FROM event_assignment WHERE activation_id = :a"),
            {"a": a["activation"]})}
    assert saved == inside
    for i, r in before.items():
        if i in inside:  # swapped to the other grid: rewritten, one history row more
            assert after[i].grid_code in changed - {r.grid_code} and after[i].h == r.h + 1
            assert after[i].x != r.x
        else:  # physically untouched
            assert (after[i].x, after[i].grid_code, after[i].h) == (r.x, r.grid_code, r.h), i
    assert_matches_locator(engine)
    with engine.begin() as c:
        out = act.rollback(c)
    assert out["restored"] == out["restored_moved"] == len(inside) and out["relocated"] == 0
    with engine.connect() as c:
        assert c.execute(text(STATE)).scalar() == state
        final = {r.id: r for r in c.execute(text(physical))}
    for i, r in before.items():
        if i not in inside:
            assert final[i].x == r.x and final[i].h == r.h, i
    assert_matches_locator(engine)
