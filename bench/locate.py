"""Locator benchmark (issue 2, item 8): ``python -m bench.locate [--quick]``.

In one run, on a generated district of ``--units`` units (default 100,000) and ``--points``
uniform random points over it (default 1,000,000):

1. bulk locating: ``Snapshot.locate_many`` vs ``geopandas.sjoin(predicate="intersects")`` vs a
   PostGIS ``ST_Contains`` join (``CREATE UNLOGGED TABLE ... AS SELECT ... JOIN unit``; also
   against the subdivided ``area_piece`` table), as points/s and ratios, and whether the three
   agree on every point that lies on no boundary;
2. one in-memory lookup: ``Snapshot.locate_wgs84`` (median over >= 20,000 calls, each timed);
3. HTTP intake, the real app vs a naive endpoint (``bench.apps``), each served by uvicorn in a
   subprocess: p50/p99 at a fixed open-loop rate (latency from the scheduled send time), then
   the max throughput with N concurrent clients; every accepted event is checked to be in the
   database.

Human-readable lines first; the LAST line is one JSON object with the figures and the targets.
Uses a dedicated database (``--db``, default ``wangge_bench``) on DATABASE_URL's server, dropped
and re-created at start.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import math
import os
import sys
import time
from typing import Any

import numpy as np
from sqlalchemy import Engine, text

from bench.common import (
    Stopwatch,
    best_of,
    closed_loop,
    count_rows,
    open_loop,
    per_call_us,
    prepared_engine,
    recreate_database,
    rnd,
    say,
    uvicorn_server,
)

CENTRE = (120.65, 31.30)  # near Suzhou
FULL_BOX = (0.6, 0.4)  # degrees, for 100,000 units; scaled with sqrt(units / 100,000)
UNITS_PER_STREET = 1000  # Layout(_, (2, 5), (5, 2), (2, 5)): 20 x 50 units per street

TARGET_LOOKUP_US = 20.0
TARGET_P99_MS = 25.0
TARGET_RATE = 200.0


# -- territory ------------------------------------------------------------------------------
def layout_for(units: int):
    """A Layout with about ``units`` units: streets (sx, sy) x 1,000 units each."""
    from gis.territory.synthetic import Layout

    streets = max(1, round(units / UNITS_PER_STREET))
    sx = max(d for d in range(1, int(math.isqrt(streets)) + 1) if streets % d == 0)
    sx, sy = streets // sx, sx
    return Layout((sx, sy), (2, 5), (5, 2), (2, 5))


def bounds_for(units: int) -> tuple[float, float, float, float]:
    """A box near Suzhou; 0.6 deg x 0.4 deg for 100,000 units, same unit size otherwise."""
    k = math.sqrt(units / 100_000)
    w, h = FULL_BOX[0] * k / 2, FULL_BOX[1] * k / 2
    return (round(CENTRE[0] - w, 6), round(CENTRE[1] - h, 6),
            round(CENTRE[0] + w, 6), round(CENTRE[1] + h, 6))


def load_territory(engine: Engine, units: int, seed: int) -> dict[str, Any]:
    """Generate and store the district (with a roster) as the active generation."""
    from datetime import UTC, datetime, timedelta

    from gis.territory import generations as territory
    from gis.territory import people, synthetic

    layout = layout_for(units)
    bounds = bounds_for(layout.shape[0] * layout.shape[1])
    with Stopwatch() as gen_sw:
        areas = synthetic.generate(bounds=bounds, layout=layout, seed=seed)
        roster = synthetic.roster(areas, leader_only_every=5)
    since = datetime.now(UTC) - timedelta(days=365)
    with Stopwatch() as load_sw, engine.begin() as conn:
        gen = territory.create_generation(conn, "benchmark district", source="bench")
        territory.insert_areas(conn, gen, areas)
        territory.activate_generation(conn, gen)
        ids = people.upsert_workers(conn, [(e.worker_code, e.name, e.phone) for e in roster])
        people.assign_roles(conn, [(ids[e.worker_code], e.area_code, e.role, since)
                                   for e in roster])
    with engine.connect() as conn:
        conn.execute(text("COMMIT"))
        for t in ("unit", "grid", "area_piece", "grid_role", "worker"):
            conn.execute(text(f"ANALYZE {t}"))
    n_units = sum(1 for a in areas if a.level == "unit")
    n_grids = sum(1 for a in areas if a.level == "grid")
    return {"generation": gen, "layout": layout, "bounds": bounds, "units": n_units,
            "grids": n_grids, "generate_s": gen_sw.s, "load_s": load_sw.s}


# -- bulk -----------------------------------------------------------------------------------
def first_match(n: int, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per point: lowest matched unit (-1 when none) and the number of matches."""
    best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, left, right)
    best[best == np.iinfo(np.int64).max] = -1
    return best, np.bincount(left, minlength=n)


def run_sjoin(snap, lon: np.ndarray, lat: np.ndarray, repeat: int) -> dict[str, Any]:
    """geopandas.sjoin(points, units, predicate="intersects"), units' sindex built beforehand."""
    import geopandas as gpd

    units = gpd.GeoDataFrame({"u": np.arange(len(snap.unit_geoms))},
                             geometry=snap.unit_geoms, crs="EPSG:4326")
    with Stopwatch() as idx_sw:
        units.sindex  # noqa: B018  (build the STRtree sjoin queries; reused by every call)
    with Stopwatch() as pts_sw:
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    gpd.sjoin(pts.iloc[:1000], units, how="inner", predicate="intersects")  # warm-up

    def go():
        return gpd.sjoin(pts, units, how="inner", predicate="intersects")

    best, times, joined = best_of(go, repeat)
    right = joined["index_right"].to_numpy(dtype=np.int64)
    left = joined.index.to_numpy(dtype=np.int64)
    assign, nmatch = first_match(len(lon), left, right)
    return {"s": best, "times": times, "index_s": idx_sw.s, "points_s": pts_sw.s,
            "assign": assign, "nmatch": nmatch}


def copy_points(engine: Engine, lon: np.ndarray, lat: np.ndarray) -> float:
    """COPY the points into an UNLOGGED table ``bench_point(id, geom)``; returns seconds."""
    with Stopwatch() as sw:
        buf = io.StringIO()
        for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
            buf.write(f"{i}\tSRID=4326;POINT({x!r} {y!r})\n")
        buf.seek(0)
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur:
                cur.execute("DROP TABLE IF EXISTS bench_point, bench_hit, bench_hit_piece")
                cur.execute("CREATE UNLOGGED TABLE bench_point "
                            "(id int PRIMARY KEY, geom geometry(Point, 4326) NOT NULL)")
                cur.copy_expert("COPY bench_point (id, geom) FROM STDIN", buf)
            raw.commit()
        finally:
            raw.close()
        with engine.connect() as conn:
            conn.execute(text("COMMIT"))
            conn.execute(text("VACUUM ANALYZE bench_point"))
    return sw.s


POSTGIS_JOIN = {
    "unit": "CREATE UNLOGGED TABLE {table} AS SELECT p.id, u.id AS unit_id FROM bench_point p "
            "JOIN unit u ON ST_Contains(u.geom, p.geom) WHERE u.generation_id = :gen",
    "area_piece": "CREATE UNLOGGED TABLE {table} AS SELECT p.id, a.area_id AS unit_id "
                  "FROM bench_point p JOIN area_piece a ON ST_Contains(a.geom, p.geom) "
                  "WHERE a.level = 'unit' AND a.generation_id = :gen",
}


def run_postgis(engine: Engine, snap, gen: int, n: int, variant: str,
                table: str) -> dict[str, Any]:
    """Time one ``CREATE TABLE AS ... JOIN ... ST_Contains`` over all points (one run)."""
    sql = text(POSTGIS_JOIN[variant].format(table=table))
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        plan = conn.execute(text("EXPLAIN " + str(sql)), {"gen": gen}).scalars().all()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 0"))  # the app's 15 s is for requests
        with Stopwatch() as sw:
            conn.execute(sql, {"gen": gen})
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, unit_id FROM {table}")).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    uid = np.array([r[1] for r in rows], dtype=np.int64)
    unit_ids = np.asarray(snap.unit_ids, dtype=np.int64)
    order = np.argsort(unit_ids)
    pos = order[np.searchsorted(unit_ids, uid, sorter=order)] if len(uid) else uid
    assign, nmatch = first_match(n, ids, pos)
    return {"s": sw.s, "assign": assign, "nmatch": nmatch,
            "parallel": any("Parallel" in line or "Gather" in line for line in plan),
            "plan": plan}


# -- HTTP -----------------------------------------------------------------------------------
def reset_events(engine: Engine) -> None:
    """Empty the event tables so that each server starts from the same state."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE event RESTART IDENTITY CASCADE"))
    with engine.connect() as conn:
        conn.execute(text("COMMIT"))
        conn.execute(text("VACUUM ANALYZE event"))


def api_tokens(engine: Engine, n: int) -> list[dict[str, str]] | None:
    """Headers with ``n`` district-centre API tokens (several devices), when the API has auth."""
    try:
        from gis.access import auth
    except ImportError:
        return None
    if not hasattr(auth, "create_token") or n <= 0:
        return None
    return [{"authorization": "Bearer " + auth.create_token(engine, "district_centre",
                                                            name=f"bench-{i}")["token"]}
            for i in range(n)]


WARMUP_S = 4.0


def http_phase(name: str, factory: str, url: str, engine: Engine, bodies: list[bytes],
               rate: float, duration: float, concurrency: int, max_s: float,
               headers: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Serve ``factory``; warm up, open loop at ``rate``, closed loop; check committed rows."""
    reset_events(engine)
    before = count_rows(engine, "event")
    say(f"[{name}] starting uvicorn ({factory}) ...")
    t0 = time.perf_counter()
    with uvicorn_server(factory, url) as server:
        base = server.base
        pass_ok = 0
        say(f"[{name}] up in {time.perf_counter() - t0:.1f} s at {base}")
        # warm-up, not measured, the same for both apps: the open loop's own schedule for a
        # few seconds, so connection pools (HTTP and database) and per-connection plan caches
        # are filled as they will be in the measured run
        warm = open_loop(base, "/api/v1/events", bodies, rate, WARMUP_S, headers=headers)
        pass_ok += warm.ok
        cpu0 = server.cpu_s()
        open_res = open_loop(base, "/api/v1/events", bodies, rate, duration, headers=headers,
                             offset=warm.sent)
        pass_ok += open_res.ok
        cpu_ms = (server.cpu_s() - cpu0) * 1000.0 / max(1, open_res.sent)
        used = warm.sent + open_res.sent
        closed_res = closed_loop(base, "/api/v1/events", bodies, concurrency, max_s,
                                 offset=used, headers=headers)
        pass_ok += closed_res.ok
    committed = count_rows(engine, "event") - before
    sent = warm.sent + open_res.sent + closed_res.sent
    out = {
        "p50_ms": open_res.p(50), "p90_ms": open_res.p(90), "p99_ms": open_res.p(99),
        "max_ms": float(np.nanmax(open_res.latencies_ms)), "sent": open_res.sent,
        "ok": open_res.ok, "errors": {**open_res.errors},
        "late_ms_max": open_res.late_ms_max, "achieved_rps": open_res.sent / open_res.elapsed_s,
        "max_rps": closed_res.rps, "max_rps_p50_ms": closed_res.p(50),
        "max_rps_p99_ms": closed_res.p(99), "max_rps_errors": {**closed_res.errors},
        "server_cpu_ms_per_req": cpu_ms, "total_sent": sent, "total_ok": pass_ok,
        "committed": committed,
        # every accepted (201) event is in the table; a few more can be when the client gave
        # up on a request (deadline) that the server then committed
        "all_committed": committed >= pass_ok, "committed_unanswered": committed - pass_ok,
        "all_ok": pass_ok == sent,
    }
    say(f"[{name}] open loop {rate:g}/s x {duration:g} s: p50 {out['p50_ms']:.2f} ms, "
        f"p90 {out['p90_ms']:.2f} ms, p99 {out['p99_ms']:.2f} ms, max {out['max_ms']:.1f} ms, "
        f"ok {open_res.ok}/{open_res.sent}, errors {open_res.errors or 'none'}, "
        f"scheduler late max {open_res.late_ms_max:.1f} ms; server process CPU "
        f"{cpu_ms:.2f} ms/request")
    say(f"[{name}] closed loop {concurrency} clients x {max_s:g} s: {closed_res.rps:.0f} req/s "
        f"(p50 {closed_res.p(50):.1f} ms, p99 {closed_res.p(99):.1f} ms), "
        f"errors {closed_res.errors or 'none'}")
    say(f"[{name}] rows committed {committed} for {pass_ok} accepted (201) of {sent} sent: "
        f"{'every accepted event stored' if out['all_committed'] else 'MISMATCH'}"
        f"{'' if out['all_ok'] else f'; {sent - pass_ok} request(s) failed'}")
    return out


def event_bodies(engine: Engine, lon: np.ndarray, lat: np.ndarray, n: int,
                 item: str | None) -> list[bytes]:
    """``n`` single-event JSON bodies at the given points, cycling through the catalogue items
    (or all of item ``item``)."""
    with engine.connect() as conn:
        items = conn.execute(text("SELECT code FROM event_item WHERE active ORDER BY code")
                             ).scalars().all()
    if item:
        items = [item]
    return [json.dumps({"item": items[i % len(items)], "source": "worker",
                        "lon": float(lon[i % len(lon)]), "lat": float(lat[i % len(lat)]),
                        "description": "bench", "reporter": "bench"}).encode()
            for i in range(n)]


def point_index(snap):
    """The CellIndex a single lookup goes through first (``pieces``, or ``units`` before it)."""
    for name in ("pieces", "units", "grids"):
        idx = getattr(snap, name, None)
        if idx is not None:
            return idx
    raise RuntimeError("snapshot has no cell index")


# -- main -----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.locate", description=__doc__.split("\n")[0])
    p.add_argument("--units", type=int, default=None, help="units (default 100,000)")
    p.add_argument("--points", type=int, default=None, help="random points (default 1,000,000)")
    p.add_argument("--rate", type=float, default=TARGET_RATE, help="open-loop requests/s")
    p.add_argument("--duration", type=float, default=None, help="open-loop seconds (default 20)")
    p.add_argument("--concurrency", type=int, default=16, help="closed-loop clients")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="closed-loop seconds (default 6; 3 with --quick)")
    p.add_argument("--lookups", type=int, default=50_000, help="single lookups timed (>= 20,000)")
    p.add_argument("--repeat", type=int, default=3, help="in-process bulk runs (best kept)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--db", default="wangge_bench", help="dedicated database (dropped!)")
    p.add_argument("--no-http", action="store_true", help="skip the HTTP part")
    p.add_argument("--tokens", type=int, default=16,
                   help="API tokens (devices) the real app's requests cycle through")
    p.add_argument("--item", default=None,
                   help="send every event with this item (default: cycle through the catalogue)")
    p.add_argument("--no-piece", action="store_true", help="skip the area_piece PostGIS variant")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 10,000 units, 100,000 points, 5 s of HTTP")
    a = p.parse_args(argv)
    a.units = a.units or (10_000 if a.quick else 100_000)
    a.points = a.points or (100_000 if a.quick else 1_000_000)
    a.duration = a.duration or (5.0 if a.quick else 20.0)
    a.max_seconds = a.max_seconds or (3.0 if a.quick else 6.0)
    a.lookups = max(20_000, a.lookups)
    return a


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    from gis.settings import Settings
    from gis.territory.locator import Locator

    base_url = Settings().owner_url
    url = recreate_database(base_url, args.db)
    say(f"database {args.db} re-created on {base_url.rsplit('@', 1)[-1].rsplit('/', 1)[0]}")
    engine = prepared_engine(url)
    r: dict[str, Any] = {"quick": args.quick, "cpus": os.cpu_count(),
                         "loadavg_start": [round(v, 2) for v in os.getloadavg()]}

    # territory + index
    terr = load_territory(engine, args.units, args.seed)
    lay = terr["layout"]
    say(f"territory: {terr['units']} units in {terr['grids']} grids "
        f"(Layout{(lay.streets, lay.communities, lay.grids, lay.units)}, bounds {terr['bounds']}); "
        f"generated in {terr['generate_s']:.1f} s, stored in {terr['load_s']:.1f} s")
    locator = Locator(engine)
    with Stopwatch() as build_sw:
        snap = locator.refresh(force=True)
    index = point_index(snap)
    say(f"locator: refresh(force=True) {build_sw.s:.2f} s "
        f"(main cell index {index.nx}x{index.ny} cells)")
    r.update(units=terr["units"], grids=terr["grids"], points=args.points,
             load_s=rnd(terr["load_s"], 2), build_s=rnd(build_sw.s, 3))

    rng = np.random.default_rng(args.seed)
    x0, y0, x1, y1 = terr["bounds"]
    lon = rng.uniform(x0, x1, args.points)
    lat = rng.uniform(y0, y1, args.points)
    n = args.points

    # bulk: locator
    snap.locate_many(lon[:1000], lat[:1000])  # warm-up
    loc_s, loc_times, (g_idx, u_idx, _d) = best_of(lambda: snap.locate_many(lon, lat),
                                                   args.repeat)
    say(f"locator.locate_many: {n / loc_s:,.0f} pts/s (best of {len(loc_times)}: "
        f"{', '.join(f'{t:.3f}' for t in loc_times)} s); "
        f"{int((u_idx < 0).sum())} points in no unit, {int((g_idx < 0).sum())} in no grid")

    # bulk: sjoin
    sj = run_sjoin(snap, lon, lat, args.repeat)
    say(f"geopandas.sjoin: {n / sj['s']:,.0f} pts/s (best of {len(sj['times'])}: "
        f"{', '.join(f'{t:.3f}' for t in sj['times'])} s; units sindex built beforehand in "
        f"{sj['index_s']:.2f} s, points_from_xy {sj['points_s']:.2f} s not counted)")

    # bulk: PostGIS
    copy_s = copy_points(engine, lon, lat)
    pg = run_postgis(engine, snap, terr["generation"], n, "unit", "bench_hit")
    say(f"PostGIS ST_Contains join on unit: {n / pg['s']:,.0f} pts/s ({pg['s']:.2f} s; "
        f"COPY of the points {copy_s:.1f} s not counted; parallel plan: {pg['parallel']})")
    piece = None
    if not args.no_piece:
        piece = run_postgis(engine, snap, terr["generation"], n, "area_piece", "bench_hit_piece")
        say(f"PostGIS ST_Contains join on area_piece: {n / piece['s']:,.0f} pts/s "
            f"({piece['s']:.2f} s)")

    # agreement on points on no boundary (exactly one unit intersects them)
    clear = sj["nmatch"] == 1
    agree = clear & (u_idx == sj["assign"]) & (pg["assign"] == sj["assign"])
    if piece is not None:
        agree &= piece["assign"] == sj["assign"]
    share = float(agree.sum() / max(1, clear.sum()))
    say(f"agreement: {share:.6%} of {int(clear.sum()):,} points on no boundary "
        f"({int((~clear).sum())} on a boundary or outside; locator vs sjoin differ on "
        f"{int((clear & (u_idx != sj['assign'])).sum())}, PostGIS vs sjoin on "
        f"{int((clear & (pg['assign'] != sj['assign'])).sum())})")

    r.update(
        locator_pts_per_s=rnd(n / loc_s, 0), locator_s=rnd(loc_s, 4),
        sjoin_pts_per_s=rnd(n / sj["s"], 0), sjoin_s=rnd(sj["s"], 4),
        sjoin_index_s=rnd(sj["index_s"], 3),
        postgis_pts_per_s=rnd(n / pg["s"], 0), postgis_s=rnd(pg["s"], 3),
        postgis_parallel=pg["parallel"],
        postgis_piece_pts_per_s=rnd(n / piece["s"], 0) if piece else None,
        locator_vs_sjoin=rnd(sj["s"] / loc_s, 2), locator_vs_postgis=rnd(pg["s"] / loc_s, 2),
        agreement=rnd(share, 6), agreement_points=int(clear.sum()),
    )
    say(f"ratios: locator/sjoin {r['locator_vs_sjoin']}x, locator/postgis "
        f"{r['locator_vs_postgis']}x")

    # single lookups
    k = min(args.lookups, n)
    xs, ys = lon[:k].tolist(), lat[:k].tolist()
    per_call_us(snap.locate_wgs84, xs[:2000], ys[:2000])  # warm-up
    lookup_med, lookup_mean = per_call_us(snap.locate_wgs84, xs, ys)
    cell_med, cell_mean = per_call_us(index.lookup, xs, ys)
    full_med, _ = per_call_us(locator.locate, xs, ys)
    say(f"single lookup over {k:,} points: Snapshot.locate_wgs84 median {lookup_med:.2f} us "
        f"(mean {lookup_mean:.2f}); cell-index lookup median {cell_med:.2f} us "
        f"(mean {cell_mean:.2f}); Locator.locate (checks + datum) median {full_med:.2f} us")
    r.update(lookup_us=rnd(lookup_med, 2), lookup_mean_us=rnd(lookup_mean, 2),
             cell_lookup_us=rnd(cell_med, 2), locate_us=rnd(full_med, 2))

    # HTTP
    if not args.no_http:
        with engine.begin() as conn:  # leave the server the machine: no bench tables in play
            conn.execute(text("DROP TABLE IF EXISTS bench_point, bench_hit, bench_hit_piece"))
        bodies = event_bodies(engine, lon, lat, min(50_000, n), args.item)
        # this process still holds the bulk phase's index and frames: keep the load
        # generator's event loop free of long garbage-collector passes over them
        gc.collect()
        gc.freeze()
        headers = api_tokens(engine, args.tokens)
        if headers:
            say(f"API tokens: {len(headers)} district_centre tokens, cycled per request")
        r["loadavg_before_http"] = [round(v, 2) for v in os.getloadavg()]
        real = http_phase("real", "bench.apps:real_app", url, engine, bodies, args.rate,
                          args.duration, args.concurrency, args.max_seconds, headers)
        naive = http_phase("naive", "bench.apps:naive_app", url, engine, bodies, args.rate,
                           args.duration, args.concurrency, args.max_seconds, headers)
        r.update(
            http_rate=args.rate, http_duration_s=args.duration,
            http_p50_ms=rnd(real["p50_ms"]), http_p90_ms=rnd(real["p90_ms"]),
            http_p99_ms=rnd(real["p99_ms"]), http_max_ms=rnd(real["max_ms"]),
            http_ok=real["ok"], http_sent=real["sent"], http_errors=real["errors"],
            http_max_rps=rnd(real["max_rps"], 1), http_max_rps_p99_ms=rnd(real["max_rps_p99_ms"]),
            http_all_committed=real["all_committed"],
            http_server_cpu_ms_per_req=rnd(real["server_cpu_ms_per_req"], 2),
            naive_http_server_cpu_ms_per_req=rnd(naive["server_cpu_ms_per_req"], 2),
            http_committed=real["committed"],
            naive_http_p50_ms=rnd(naive["p50_ms"]), naive_http_p90_ms=rnd(naive["p90_ms"]),
            naive_http_p99_ms=rnd(naive["p99_ms"]), naive_http_max_ms=rnd(naive["max_ms"]),
            naive_http_ok=naive["ok"], naive_http_sent=naive["sent"],
            naive_http_errors=naive["errors"], naive_http_max_rps=rnd(naive["max_rps"], 1),
            naive_http_max_rps_p99_ms=rnd(naive["max_rps_p99_ms"]),
            naive_http_all_committed=naive["all_committed"],
            http_concurrency=args.concurrency, http_max_seconds=args.max_seconds,
        )

    # targets
    r["target_bulk_ge_sjoin"] = bool(loc_s <= sj["s"])
    r["target_lookup_le_20us"] = bool(lookup_med <= TARGET_LOOKUP_US)
    if not args.no_http:
        r["target_http_p99_le_25ms"] = bool(
            args.rate >= TARGET_RATE and real["p99_ms"] <= TARGET_P99_MS
            and real["ok"] == real["sent"] and real["all_committed"])
        r["target_http_rps_gt_naive"] = bool(real["max_rps"] > naive["max_rps"])
    met = {k: v for k, v in r.items() if k.startswith("target_")}
    r["targets_met"] = all(met.values())
    say("targets: " + ", ".join(f"{k[7:]}={'MET' if v else 'MISSED'}" for k, v in met.items()))
    engine.dispose()
    return r


if __name__ == "__main__":
    result = main(sys.argv[1:])
    print(json.dumps(result, ensure_ascii=False), flush=True)
