"""Benchmark: validate + activate a 10,000-grid / 100,000-unit city with 1,000,000 open events.

    python -m bench.boundaries [--scale 0.05] [--events N] [--keep]

Builds a dedicated database ``wangge_bench_boundaries`` (same server as DATABASE_URL), loads
a generated city as the active generation, COPYs the open events (located with the in-memory
locator), writes a redrawn city (other jitter seed, same codes) as GeoJSON and imports it with
``--commit`` through the same core as ``wangge boundaries import``.  Then times the naive
per-row ``UPDATE event SET ... FROM unit WHERE ST_Contains(unit.geom, event.geom)`` on a sample
(rolled back) and extrapolates it to all events.  The last line is one JSON object.

The activation re-locates every open event (``events_relocated``) but rewrites only those whose
codes / worker / location status change (``events_moved``); the naive UPDATE rewrites every
event it matches, so its time is the cost of the re-location AND of rewriting all rows.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import create_engine, make_url, text

from boundaries.core import run_import
from boundaries.validate import Options
from gis.db import migrate
from gis.db.engine import make_engine
from gis.intake import catalogue
from gis.settings import Settings
from gis.territory import generations as territory
from gis.territory import people, synthetic
from gis.territory.locator import Locator

DB = "wangge_bench_boundaries"
BOUNDS = (120.40, 31.10, 120.90, 31.50)


def log(msg: str) -> None:
    """Progress on stdout."""
    print(msg, flush=True)


def layout(scale: float) -> synthetic.Layout:
    """The full city is streets (10, 10): scale shrinks the street lattice."""
    n = max(1, round(10 * math.sqrt(scale)))
    return synthetic.Layout((n, n), (2, 5), (5, 2), (2, 5))


def make_db(base_url: str) -> str:
    """(Re)create the bench database; returns its URL."""
    u = make_url(base_url)
    admin = create_engine(u.set(drivername="postgresql+psycopg2", database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{DB}"'))
    admin.dispose()
    return u.set(database=DB).render_as_string(hide_password=False)


def features(recs: list[territory.AreaRecord]) -> dict:
    """Records → FeatureCollection (the import format)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": r.code, "name": r.name,
                                           "parent_code": r.parent_code, "kind": r.kind,
                                           "level": r.level},
         "geometry": shapely.geometry.mapping(r.geom)} for r in recs]}


def copy_events(engine, n: int, seed: int) -> None:
    """COPY ``n`` open events located in the active generation (duplicate trigger off)."""
    loc = Locator(engine)
    snap = loc.refresh(force=True)
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = BOUNDS
    lon = rng.uniform(minx, maxx, n)
    lat = rng.uniform(miny, maxy, n)
    g, u, _d = snap.locate_many(lon, lat, with_outside=False)
    workers = {}
    for i, code in enumerate(snap.grid_codes):
        r = snap.responsible(code)
        workers[i] = r.worker_id if r else None
    with engine.connect() as c:
        item = c.execute(text("SELECT code FROM event_item WHERE active ORDER BY code LIMIT 1")
                         ).scalar_one()
    buf = io.StringIO()
    statuses = np.array(["reported", "accepted", "dispatched", "in_progress"])
    st = statuses[rng.integers(0, len(statuses), n)]
    for k in range(n):
        gi, ui = int(g[k]), int(u[k])
        code = snap.grid_codes[gi]
        w = workers[gi]
        buf.write("\t".join([
            item, "resident", f"SRID=4326;POINT({lon[k]:.7f} {lat[k]:.7f})", "inside", "point",
            str(snap.generation), str(snap.grid_ids[gi]),
            str(snap.unit_ids[ui]) if ui >= 0 else "\\N", snap.grid_street[gi],
            snap.grid_community[gi], code, snap.unit_codes[ui] if ui >= 0 else "\\N",
            str(w) if w else "\\N", st[k]]) + "\n")
    buf.seek(0)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("ALTER TABLE event DISABLE TRIGGER event_duplicate_detect")  # owner only
        cur.copy_expert(
            "COPY event (item_code, source, geom, location_status, location_method, "
            "generation_id, grid_id, unit_id, street_code, community_code, grid_code, "
            "unit_code, worker_id, status) FROM STDIN", buf)
        cur.execute("ALTER TABLE event ENABLE TRIGGER event_duplicate_detect")
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE event"))


def naive(engine, sample: int) -> float:
    """Seconds of the naive per-row UPDATE ... ST_Contains on ``sample`` events (rolled back)."""
    with engine.connect() as c:
        tx = c.begin()
        gen = c.execute(text("SELECT id FROM generation WHERE status = 'active'")).scalar_one()
        # per event one probe of the unit GiST index: without these the planner ANDs the
        # (generation_id) index into every probe (~100k index entries per event, 1.4 ms each)
        # and the extrapolation would make the naive way look ~20x worse than it is
        c.execute(text("SET LOCAL jit = off"))
        c.execute(text("SET LOCAL enable_bitmapscan = off"))
        t = time.perf_counter()
        c.execute(text(
            "UPDATE event e SET unit_id = u.id, unit_code = u.code, grid_code = u.grid_code, "
            "generation_id = u.generation_id "
            "FROM unit u WHERE u.generation_id = :g AND ST_Contains(u.geom, e.geom) "
            "AND e.id <= :n AND e.status NOT IN ('closed', 'rejected', 'duplicate')"),
            {"g": gen, "n": sample})
        took = time.perf_counter() - t
        tx.rollback()
    return took


def main() -> None:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the city (smoke: 0.05)")
    ap.add_argument("--events", type=int, default=None, help="open events (default 1M * scale)")
    ap.add_argument("--naive-sample", type=int, default=50_000)
    args = ap.parse_args()
    n_events = args.events if args.events is not None else int(1_000_000 * args.scale)
    lay = layout(args.scale)
    url = make_db(Settings().owner_url)
    engine = make_engine(Settings(database_url=url, statement_timeout_ms=3_600_000))
    migrate.upgrade(engine)
    with engine.begin() as c:
        catalogue.load(c)
    t = time.perf_counter()
    old = synthetic.generate(BOUNDS, lay, seed=1)
    entries = synthetic.roster(old, leader_only_every=5)
    with engine.begin() as c:
        gen = territory.create_generation(c, "bench city", "synthetic")
        territory.insert_areas(c, gen, old)
        territory.activate_generation(c, gen)
        ids = people.upsert_workers(c, [(e.worker_code, e.name, e.phone) for e in entries])
        people.assign_roles(c, [(ids[e.worker_code], e.area_code, e.role, None)
                                for e in entries])
    grids = sum(1 for r in old if r.level == "grid")
    units = sum(1 for r in old if r.level == "unit")
    log(f"city: {grids} grids, {units} units loaded in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    copy_events(engine, n_events, seed=3)
    log(f"{n_events} open events copied in {time.perf_counter() - t:.1f} s")
    new = synthetic.generate(BOUNDS, lay, seed=2)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "redrawn.geojson"
        path.write_text(json.dumps(features(new)), encoding="utf-8")
        log(f"redrawn city written: {path.stat().st_size / 1e6:.0f} MB")
        t = time.perf_counter()
        res = run_import(engine, path, options=Options(), commit=True, actor="bench")
        total = time.perf_counter() - t
    rep = res.report
    log(f"import --commit: exit {res.exit_code}, {rep['counts']}; timings {rep['timings']}, "
        f"store {rep.get('store_s')} s, preview {rep.get('preview_s')} s, activate "
        f"{rep.get('activate_s')} s; {rep.get('activation')}")
    sample = min(args.naive_sample, n_events)
    naive_s = naive(engine, sample) if sample else 0.0
    naive_full = naive_s * (n_events / sample) if sample else 0.0
    log(f"naive per-row UPDATE ... ST_Contains: {naive_s:.2f} s for a sample of {sample} events"
        f" -> extrapolated {naive_full:.1f} s for {n_events} (measured on a sample, scaled "
        "linearly)")
    act = rep.get("activation") or {}
    out = {
        "bench": "boundaries", "scale": args.scale, "grids": grids, "units": units,
        "open_events": n_events, "exit_code": res.exit_code,
        "read_s": rep["timings"].get("read_s"), "validate_s": rep["timings"].get("validate_s"),
        "store_s": rep.get("store_s"), "preview_s": rep.get("preview_s"),
        "activate_s": rep.get("activate_s"), "total_s": round(total, 2),
        "events_relocated": act.get("relocated"), "events_moved": act.get("moved"),
        "naive_sample": sample, "naive_sample_s": round(naive_s, 2),
        "naive_extrapolated_s": round(naive_full, 1), "target_s": 60,
        "within_target": total <= 60,
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
    engine.dispose()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
