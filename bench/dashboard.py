"""Benchmark of the live map over 100,000 to 10,000,000 stored events: first map and refresh.

    python -m bench.dashboard [--sizes 100000,1000000,10000000] [--history-days 365] [--keep]
                              [--reuse] [--db-per-size]

Stores events (COPY, triggers off, then the live map's tally recounted) over a generated
district in a dedicated database on DATABASE_URL's server (dropped at the end), size by size,
and at each size times the live page's first map (its queries, the map as
dashboard/pages/live_map.py builds it and the component message st_folium makes of it) and a
refresh (the live queries again, what the page caches kept, and the message), with the kept
counts (event_tally) and with today's queries (every event of the window). Bytes: the
component message plus, for the first map, the resources the map frame fetches once (Leaflet,
the grid shapes); a refresh sends the message only. ``--naive`` adds the raw HeatMap of every
point at the smallest size. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, make_url, text

from bench.common import db_exists, drop_database, recreate_database
from gis.db import migrate
from gis.intake import catalogue
from gis.intake.events import OPEN_STATUSES, STATUSES
from gis.settings import Settings
from gis.territory import synthetic

BENCH_LAYOUT = synthetic.Layout(streets=(3, 2), communities=(3, 3), grids=(3, 3), units=(3, 3))
BENCH_BOUNDS = (120.52, 31.26, 120.68, 31.36)
TARGET_S, TARGET_BYTES, TARGET_REFRESH_S = 1.0, 1_000_000, 0.3


def seed(engine: Engine, events: int, cameras: int = 300, tracks: int = 40, days: float = 365,
         seed: int = 1) -> dict[str, int]:
    """COPY ``events`` located events (hotspots + background) reported over the last ``days``
    days into the active district, plus cameras and today's patrol tracks. An event is open
    with a share falling with its age (60 % in its first day, 25 % up to 3 days, 3 % up to
    30 days, 0.2 % after), as a desk working its backlog leaves it."""
    from gis.territory.locator import Locator

    rng = np.random.default_rng(seed)
    snap = Locator(engine).refresh(force=True)
    with engine.connect() as conn:
        ext = conn.execute(text("SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x) FROM "
                                "(SELECT ST_Extent(geom) x FROM grid g JOIN generation gen ON "
                                "gen.id = g.generation_id AND gen.status = 'active') s")).one()
        items = conn.execute(text("SELECT code, default_level, time_limit_h FROM event_item "
                                  "WHERE active ORDER BY code")).all()
        workers = [r[0] for r in conn.execute(text("SELECT code FROM worker ORDER BY code"))]
        wids = dict(conn.execute(text("SELECT code, id FROM worker")).all())
    minx, miny, maxx, maxy = ext
    now = datetime.now(UTC)
    out = {"events": 0, "cameras": 0, "tracks": 0}
    chunk = 200_000
    hot = np.column_stack([rng.uniform(minx, maxx, 12), rng.uniform(miny, maxy, 12)])
    open_st = np.array(OPEN_STATUSES)
    p_open_st = np.array([0.35, 0.15, 0.15, 0.15, 0.1, 0.1])
    done_st = np.array([x for x in STATUSES if x not in OPEN_STATUSES])
    done = 0
    with engine.begin() as conn:  # bulk load: per-row triggers (duplicate detection) off
        conn.execute(text("ALTER TABLE event DISABLE TRIGGER USER"))
    while done < events:
        n = min(chunk, events - done)
        k = rng.integers(0, len(hot), n)
        spread = (maxx - minx) * 0.03
        lon = np.where(rng.random(n) < 0.7, hot[k, 0] + rng.normal(0, spread, n),
                       rng.uniform(minx, maxx, n))
        lat = np.where(rng.random(n) < 0.7, hot[k, 1] + rng.normal(0, spread, n),
                       rng.uniform(miny, maxy, n))
        g, u, _d = snap.locate_many(lon, lat, with_outside=False)
        keep = (g >= 0) & (u >= 0)
        lon, lat, g, u = lon[keep], lat[keep], g[keep], u[keep]
        m = len(lon)
        ages = rng.uniform(0, days * 86400, m)
        it = rng.integers(0, len(items), m)
        p_open = np.select([ages < 86400, ages < 3 * 86400, ages < 30 * 86400],
                           [0.6, 0.25, 0.03], 0.002)
        st = np.where(rng.random(m) < p_open, rng.choice(open_st, m, p=p_open_st),
                      rng.choice(done_st, m, p=[0.8, 0.1, 0.1]))
        buf = io.StringIO()
        for i in range(m):
            gc = snap.grid_codes[g[i]]
            item = items[it[i]]
            at = now - timedelta(seconds=float(ages[i]))
            due = at + timedelta(hours=item[2])
            rep = workers[int(it[i]) % len(workers)] if workers else ""
            buf.write(
                f"{item[0]}\tworker\t{rep}\tsynthetic\t{at.isoformat()}\t{at.isoformat()}\t"
                f"SRID=4326;POINT({lon[i]:.7f} {lat[i]:.7f})\tinside\tpoint\t{snap.generation}\t"
                f"{snap.grid_ids[g[i]]}\t{snap.unit_ids[u[i]]}\t{gc[:9]}\t{gc[:12]}\t{gc}\t"
                f"{snap.unit_codes[u[i]]}\t{st[i]}\t{item[1]}\t{due.isoformat()}\n")
        buf.seek(0)
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.copy_expert(
                "COPY event (item_code, source, reporter, description, reported_at, received_at,"
                " geom, location_status, location_method, generation_id, grid_id, unit_id,"
                " street_code, community_code, grid_code, unit_code, status, level, due_at)"
                " FROM STDIN", buf)
            raw.commit()
        finally:
            raw.close()
        done += n
        out["events"] += m
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE event ENABLE TRIGGER USER"))
    from gis.oversight import dashboard as dq

    t0 = time.perf_counter()
    dq.rebuild_tally(engine)  # the triggers were off: count the live map's tally afresh
    out["tally_rebuild_s"] = round(time.perf_counter() - t0, 1)
    with engine.begin() as conn:
        cams = [{"code": f"CAM{i:05d}", "name": f"Camera {i}",
                 "kind": ["fixed", "dome", "ai"][i % 3],
                 "status": "online" if i % 10 else "offline",
                 "x": float(rng.uniform(minx, maxx)), "y": float(rng.uniform(miny, maxy))}
                for i in range(cameras)]
        if cams:
            conn.execute(text("INSERT INTO camera (code, name, kind, status, geom) VALUES "
                              "(:code, :name, :kind, :status, ST_SetSRID(ST_MakePoint(:x, :y),"
                              " 4326)) ON CONFLICT (code) DO NOTHING"), cams)
        out["cameras"] = len(cams)
        start = now - timedelta(hours=2)
        for t in range(min(tracks, len(snap.grid_codes))):
            gc = snap.grid_codes[int(rng.integers(0, len(snap.grid_codes)))]
            pts = conn.execute(text(
                "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM unit "
                "WHERE grid_code = :g AND generation_id = :gen ORDER BY code"),
                {"g": gc, "gen": snap.generation}).all()
            if len(pts) < 2:
                continue
            wkt = "LINESTRING M (" + ", ".join(
                f"{x} {y} {start.timestamp() + 60 * j}" for j, (x, y) in enumerate(pts)) + ")"
            worker = f"W{gc}" if f"W{gc}" in wids else (workers[t % len(workers)])
            conn.execute(text(
                "INSERT INTO patrol_track (worker_id, grid_code, started_at, ended_at, geom, "
                "length_m) VALUES (:w, :g, :s, :e, ST_GeomFromText(:wkt, 4326), "
                "ST_Length(ST_Force2D(ST_GeomFromText(:wkt, 4326))::geography))"),
                {"w": wids[worker], "g": gc, "s": start,
                 "e": start + timedelta(seconds=60 * (len(pts) - 1)), "wkt": wkt})
            out["tracks"] += 1
    with engine.connect() as conn:  # what autovacuum does minutes after a bulk load
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM (ANALYZE) event, event_tally"))
    return out


def today_summary(engine: Engine, f: Any) -> dict[str, int]:
    """event_summary as it was before the kept counts: every event of the window."""
    from gis.oversight import dashboard as dq

    return dq.event_summary(engine, f, use_tally=False)


def today_bins(engine: Engine, f: Any, bbox: Any, zoom: int) -> dict[str, Any]:
    """event_bins as it was before the kept counts: every event in the box, binned."""
    from gis.db.queries import q
    from gis.oversight import dashboard as dq

    cellx, celly = dq.bin_size(zoom, (bbox[1] + bbox[3]) / 2)
    with engine.connect() as conn:
        rows = conn.execute(q(dq.SQL, "event_bins", dq.PKG), f.params() | dq._bbox(bbox)
                            | {"cellx": cellx, "celly": celly}).all()
    return dq._bins(rows, cellx, celly)


def event_layers(engine: Engine, f: Any, bbox: Any, zoom: int, today: bool,
                 coverage: bool = True) -> dict[str, Any]:
    """The event and patrol queries the page runs at a refresh (load_live); ``coverage``:
    the patrol coverage too (the page keeps it 30 s: recounted at one refresh in six)."""
    from gis.oversight import dashboard as dq

    summary = today_summary(engine, f) if today else dq.event_summary(engine, f)
    bins = today_bins(engine, f, bbox, zoom) if today else dq.event_bins(engine, f, bbox, zoom)
    points = dq.events(engine, f, bbox) if bins["total"] <= dq.EVENT_POINT_LIMIT else []
    lat = (bbox[1] + bbox[3]) / 2
    return {"summary": summary, "bins": bins, "points": points,
            "latest": dq.events(engine, f, None, 200), "overdue": dq.overdue(engine, f),
            "cams": dq.camera_layer(engine, bbox, zoom),  # clusters at district zoom
            "cov": dq.patrol_coverage(engine, f.since, radius_m=50, lat=lat) if coverage
            else None, "trk": dq.tracks(engine, dq.today_start())}


def _links(el: Any) -> list[str]:
    """The asset links (js, css) of an element and its children, as st_folium collects them."""
    out = [src for _, src in getattr(el, "default_js", []) + getattr(el, "default_css", [])]
    for child in getattr(el, "_children", {}).values():
        out += _links(child)
    return list(dict.fromkeys(out))


def component_bytes(base: Any, groups: list) -> int:
    """Bytes of the map's component message as st_folium builds it at every run (the base
    map's script, HTML and header, the feature groups, the layer control, the asset links):
    Streamlit sends it again whenever any of it changed."""
    import folium
    import streamlit_folium as sf

    base.get_root().render()
    base.render()
    parts = {"html": sf._get_html(base), "header": sf._get_header(base),
             "script": sf._get_map_string(base)}
    parts["feature_group"] = "".join(sf._get_feature_group_string(g, map=base, idx=i)
                                     for i, g in enumerate(groups))
    parts["layer_control"] = sf._get_layer_control_string(folium.LayerControl(), base)
    parts["links"] = _links(base)
    return len(json.dumps(parts).encode())


def ship(d: dict[str, Any], ext: dict[str, Any], shapes: Any, units: list) -> dict[str, int]:
    """The live page's map for ``d`` as the page builds it (dashboard/pages/live_map.py),
    its resources served (Leaflet, the grid shapes): bytes of the component message and of
    the resources the map frame fetches once."""
    import dataclasses

    from dashboard import mapview
    from dashboard.pages import live_map as lm

    served = dataclasses.replace(shapes, url=f"{lm.MEDIA_FROM_FRAME}/media/{shapes.key}.json")
    assets = {k: f"{lm.MEDIA_FROM_FRAME}/media/{k}" for k in mapview.LOCAL_ASSETS}
    live = lm.LiveData(d["summary"], d["bins"], d["points"], d["cams"], d["cov"], d["trk"],
                       served, units, d["latest"], d["overdue"], [], None, None, [])
    view = lm.initial_view(ext)
    base, groups = lm.map_parts(live, ext, view, lm.LAYERS, 50, assets)
    resources = len(shapes.payload.encode()) + sum(
        (mapview.VENDOR / f).stat().st_size for f in mapview.LOCAL_ASSETS.values())
    return {"message": component_bytes(base, groups), "resources": resources}


def live_page(engine: Engine, window_days: float = 30, today: bool = False) -> dict[str, Any]:
    """Everything the live page computes for its first map (cold: boundaries and coverage
    too) and what it ships; ``today``: the event queries as they were before the kept counts."""
    from dashboard import mapview
    from gis.oversight import dashboard as dq

    t0 = time.perf_counter()
    ext = dq.extent(engine)
    dq.filter_options(engine)
    bbox = (ext["minlon"], ext["minlat"], ext["maxlon"], ext["maxlat"])
    zoom = dq.zoom_for_bbox(bbox, 900, 560)
    f = dq.Filters(since=datetime.now(UTC) - timedelta(days=window_days))
    d = event_layers(engine, f, bbox, zoom, today)
    shapes = mapview.grid_shapes(dq.grids(engine))
    units = dq.units(engine, bbox, zoom=zoom) if zoom >= dq.UNIT_MIN_ZOOM else []
    t_data = time.perf_counter() - t0
    sent = ship(d, ext, shapes, units)
    t_total = time.perf_counter() - t0
    cams = d["cams"]
    return {"seconds": round(t_total, 3), "data_seconds": round(t_data, 3),
            "bytes": sent["message"] + sent["resources"], "message_bytes": sent["message"],
            "resource_bytes": sent["resources"], "bins": len(d["bins"]["bins"]),
            "events_total": d["summary"]["total"], "open": d["summary"]["open"],
            "overdue": d["summary"]["overdue"], "points_drawn": len(d["points"]),
            "latest": len(d["latest"]), "cameras": cams["total"], "camera_mode": cams["mode"],
            "camera_markers": len(cams["clusters"]) + len(cams["cameras"]),
            "grids": len(json.loads(shapes.payload)["g"]), "units": len(units), "zoom": zoom,
            "_shapes": shapes, "_units": units, "_bbox": bbox, "_ext": ext, "_cov": d["cov"]}


def refresh(engine: Engine, first: dict[str, Any], window_days: float = 30,
            today: bool = False, coverage: bool = False) -> dict[str, Any]:
    """A refresh of the page: the live queries again (boundaries, extent and options cached
    for 60 s, coverage for 30 s, as in dashboard/data.py; ``coverage``: the refresh that
    recounts it) and the map's component message (the resources are in the browser)."""
    bbox, zoom = first["_bbox"], first["zoom"]
    from gis.oversight import dashboard as dq

    t0 = time.perf_counter()
    f = dq.Filters(since=datetime.now(UTC) - timedelta(days=window_days))
    d = event_layers(engine, f, bbox, zoom, today, coverage)
    d["cov"] = d["cov"] if coverage else first["_cov"]
    t_data = time.perf_counter() - t0
    sent = ship(d, first["_ext"], first["_shapes"], first["_units"])
    return {"seconds": round(time.perf_counter() - t0, 3), "data_seconds": round(t_data, 3),
            "bytes": sent["message"]}


def naive_heatmap(engine: Engine) -> dict[str, Any]:
    """The naive way: every raw point to the client as a folium HeatMap."""
    import folium
    from folium.plugins import HeatMap

    t0 = time.perf_counter()
    with engine.connect() as conn:
        pts = conn.execute(text("SELECT ST_Y(geom), ST_X(geom) FROM event "
                                "WHERE geom IS NOT NULL")).all()
    t_data = time.perf_counter() - t0
    m = folium.Map(location=[31.3, 120.6], zoom_start=13, tiles=None)
    HeatMap([[float(a), float(b)] for a, b in pts], radius=8).add_to(m)
    html = m.get_root().render()
    return {"seconds": round(time.perf_counter() - t0, 3), "data_seconds": round(t_data, 3),
            "bytes": len(html.encode()), "points": len(pts)}


def prepare_db(base_url: str, name: str) -> Engine:
    """Create the bench database (dropped first if present) with its district."""
    from gis.db.engine import make_engine
    from gis.territory.synthetic import load_synthetic

    s = Settings(database_url=recreate_database(base_url, name),
                 statement_timeout_ms=1_800_000)
    eng = make_engine(s)
    migrate.upgrade(eng)
    with eng.begin() as conn:
        catalogue.load(conn)
    load_synthetic(eng, layout=BENCH_LAYOUT, bounds=BENCH_BOUNDS,
                   description="dashboard bench district")
    return eng


def reuse_db(base_url: str, name: str) -> Engine:
    """An engine on the kept bench database (migrated to the newest schema)."""
    from gis.db.engine import make_engine

    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    eng = make_engine(Settings(database_url=url, statement_timeout_ms=1_800_000))
    migrate.upgrade(eng)
    return eng


def open_db(base_url: str, name: str, reuse: bool) -> Engine:
    """The bench database ``name``: the kept one with ``reuse`` (if it exists), else new."""
    if reuse and db_exists(base_url, name):
        return reuse_db(base_url, name)
    return prepare_db(base_url, name)


def top_up(eng: Engine, target: int, history_days: float, k: int) -> dict[str, Any]:
    """Add events (COPY) until about ``target`` are stored; cameras and tracks the first time."""
    with eng.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM event")).scalar_one()
    if have >= target * 0.95:
        return {"events": 0, "reused": have, "seconds": 0.0}
    t0 = time.perf_counter()
    # a few % of the points fall outside the grids; cameras and tracks into an empty database
    out = seed(eng, int((target - have) * 1.04), cameras=300 if have == 0 else 0,
               tracks=40 if have == 0 else 0, days=history_days, seed=k + 1)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def median_of(fn: Any, n: int) -> dict[str, Any]:
    """The run of median seconds among ``n`` runs of ``fn``."""
    runs = sorted((fn() for _ in range(n)), key=lambda r: r["seconds"])
    return runs[len(runs) // 2]


def same_counts(eng: Engine, f: Any) -> bool:
    """Total, open and overdue of one window (one ``since``) read both ways, back to back: the
    timed page loads above each take their own "last 30 days", which at 10M events a second
    apart already differ by the events reported at the window's edge."""
    from gis.oversight import dashboard as dq

    ours = dq.event_summary(eng, f)
    old = today_summary(eng, f)
    return all(ours[k] == old[k] for k in ("total", "open", "overdue"))


def measure(eng: Engine, repeat: int, today_repeat: int) -> dict[str, Any]:
    """First map and refresh, ours (median of ``repeat``) and today's queries. As the page
    does, the window's start hour is kept first (``keep_tally_start``: once an hour per
    window, timed apart) and the appended changes folded."""
    from gis.oversight import dashboard as dq

    f = dq.Filters(since=datetime.now(UTC) - timedelta(days=30))
    t0 = time.perf_counter()
    dq.keep_tally_start(eng, f)
    kept_s = round(time.perf_counter() - t0, 3)
    dq.compact_tally(eng)
    with eng.connect() as conn:
        kept_rows = conn.execute(text("SELECT count(*) FROM event_tally_from WHERE start = :hs"),
                                 {"hs": dq.tally_start(f)}).scalar_one()
    first = live_page(eng)  # warm the pool and the caches once
    ours = median_of(lambda: live_page(eng), repeat)
    ours_r = median_of(lambda: refresh(eng, first), repeat + 2)
    ours_rc = median_of(lambda: refresh(eng, first, coverage=True), max(1, repeat // 2))
    old = median_of(lambda: live_page(eng, today=True), today_repeat)
    old_r = median_of(lambda: refresh(eng, first, today=True), today_repeat)
    same = same_counts(eng, f)
    return {"events": ours["events_total"], "open": ours["open"], "overdue": ours["overdue"],
            "first_map_s": ours["seconds"], "first_data_s": ours["data_seconds"],
            "bytes": ours["bytes"], "message_bytes": ours["message_bytes"],
            "resource_bytes": ours["resource_bytes"], "bins": ours["bins"],
            "zoom": ours["zoom"], "refresh_s": ours_r["seconds"],
            "refresh_data_s": ours_r["data_seconds"], "refresh_bytes": ours_r["bytes"],
            "refresh_with_coverage_s": ours_rc["seconds"],
            "today_first_map_s": old["seconds"], "today_first_data_s": old["data_seconds"],
            "today_refresh_s": old_r["seconds"], "today_refresh_data_s": old_r["data_seconds"],
            "today_bytes": old["bytes"], "summary_same_as_today": same,
            "start_kept_s": kept_s, "start_rows": kept_rows}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark size by size and print one JSON object as the last line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000,10000000", help="events stored")
    ap.add_argument("--history-days", type=float, default=365,
                    help="days the stored events were reported over")
    ap.add_argument("--db-name", default="wangge_bench_scale_map")
    ap.add_argument("--repeat", type=int, default=5, help="runs of ours (median kept)")
    ap.add_argument("--today-repeat", type=int, default=3, help="runs of today's queries")
    ap.add_argument("--keep", action="store_true", help="keep the bench database")
    ap.add_argument("--reuse", action="store_true",
                    help="use the kept bench database as it is (sizes it already holds are "
                    "not topped up; it is kept)")
    ap.add_argument("--db-per-size", action="store_true",
                    help="each size in its own database ({db-name}_{size}): with --reuse, "
                    "a kept large size is measured beside freshly seeded small ones")
    ap.add_argument("--naive", action="store_true",
                    help="also the raw HeatMap of every point at the smallest size")
    args = ap.parse_args(argv)
    base = Settings().owner_url
    sizes = [int(x) for x in args.sizes.split(",")]
    names = ([f"{args.db_name}_{n}" for n in sizes] if args.db_per_size
             else [args.db_name] * len(sizes))
    rows, naive, eng = [], None, None
    try:
        for k, (size, name) in enumerate(zip(sizes, names, strict=True)):
            if eng is None or args.db_per_size:
                if eng is not None:
                    eng.dispose()
                eng = open_db(base, name, args.reuse)
            seeded = top_up(eng, size, args.history_days, k)
            print(f"{size}: seeded {seeded}", flush=True)
            m = measure(eng, args.repeat, args.today_repeat)
            print(f"{size}: {m}", flush=True)
            rows.append(m | {"stored": size, "seed_s": seeded["seconds"],
                             "tally_rebuild_s": seeded.get("tally_rebuild_s")})
            if args.naive and k == 0:
                naive = naive_heatmap(eng)
    finally:
        if eng is not None:
            eng.dispose()
        if not (args.keep or args.reuse):
            for name in dict.fromkeys(names):
                drop_database(base, name)
    small, big = rows[0], rows[-1]
    print("growth (stored: first map s / refresh s, today's first map s / refresh s): " + "; ".join(
        f"{r['stored']}: {r['first_map_s']} / {r['refresh_s']}, {r['today_first_map_s']} / "
        f"{r['today_refresh_s']}" for r in rows), flush=True)
    targets = {"first_map_le_1s": big["first_map_s"] <= TARGET_S,
               "first_map_le_1MB": big["bytes"] <= TARGET_BYTES,
               "refresh_le_300ms": big["refresh_s"] <= TARGET_REFRESH_S,
               "first_map_within_20pct": big["first_map_s"] <= 1.2 * small["first_map_s"],
               "refresh_within_20pct": big["refresh_s"] <= 1.2 * small["refresh_s"],
               "same_counts_as_today": all(r["summary_same_as_today"] for r in rows)}
    result = {"bench": "dashboard", "history_days": args.history_days, "sizes": rows,
              "naive_heatmap": naive, "target_s": TARGET_S, "target_bytes": TARGET_BYTES,
              "target_refresh_s": TARGET_REFRESH_S, "targets": targets}
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    sys.exit(0 if all(main()["targets"].values()) else 1)
