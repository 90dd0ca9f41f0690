"""Oversight at city scale: ``python -m bench.oversight [--grids 10000] [--keep] [--reuse]``.

Builds a generated city (10,000 grids, 100,000 units, a full-time worker per grid) in the
database ``wangge_bench_scale`` on DATABASE_URL's server (dropped and re-created; dropped
again at the end unless ``--keep``), then stores a month of patrol tracks (one a day per
worker, 300 fixes each) for 0.1×, 0.3× and 1× of the workers, the patrol visits and the
units visited per day kept by the triggers (migrations 0014, 0016). ``--reuse``: the kept
database as it is (migrated; a size's tracks are added only to grids without any), e.g.
``--reuse --sizes 1`` to measure the full size again. At each size, in the same run:

1. patrol coverage of every grid for one day (ours: the per-day table; beside it the
   previous way, every visit row of the day grouped with the units in Python), units not
   visited for N days, the monthly assessment (standard indicators included), best of
   ``--repeat``; whether ours gives the previous way's counts for every grid;
2. the naive per-unit geography ``ST_DWithin`` (the definition) on a sample of units,
   extrapolated to every unit, and whether the sample's answers equal ours.

Human-readable lines first; the LAST line is one JSON object with the figures and targets.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, text

from bench.common import (
    Stopwatch,
    best_of,
    database_url,
    db_exists,
    drop_database,
    prepared_engine,
    recreate_database,
    rnd,
    say,
)
from gis import clock

DB = "wangge_bench_scale"
MONTH = "2026-11"
FIXES, FIX_S = 300, 20
TARGETS = {"coverage_day_s": 2.0, "unvisited_s": 2.0, "assessment_s": 30.0}

TRACKS = """
INSERT INTO patrol_track (worker_id, grid_code, started_at, ended_at, geom, length_m)
SELECT r.worker_id, g.code, s.t0, s.t0 + make_interval(secs => :span), l.geom,
       ST_Length(ST_Force2D(l.geom)::geography)
FROM grid g JOIN generation gen ON gen.id = g.generation_id AND gen.status = 'active'
JOIN grid_role r ON r.area_code = g.code AND r.role = 'full_time',
LATERAL (SELECT CAST(:day AS timestamptz)
                + make_interval(mins => CAST(480 + r.worker_id % 240 AS int)) AS t0,
                ((r.worker_id * 7919 + :k * 104729) % 1000) / 1000.0 * 2 * pi() AS phi,
                (ST_XMin(g.geom) + ST_XMax(g.geom)) / 2 AS cx,
                (ST_YMin(g.geom) + ST_YMax(g.geom)) / 2 AS cy,
                (ST_XMax(g.geom) - ST_XMin(g.geom)) * 0.45 AS hx,
                (ST_YMax(g.geom) - ST_YMin(g.geom)) * 0.45 AS hy) s,
LATERAL (SELECT ST_SetSRID(ST_MakeLine(array_agg(ST_MakePointM(
                    s.cx + s.hx * sin(2 * pi() * 3 * i / (:n - 1.0) + s.phi),
                    s.cy + s.hy * sin(2 * pi() * 2 * i / (:n - 1.0)),
                    extract(epoch FROM s.t0) + :fix_s * i) ORDER BY i)), 4326) AS geom
         FROM generate_series(0, :n - 1) i) l
WHERE g.code > :lo AND g.code <= :hi
"""
NAIVE_VISITS = """
WITH t AS (
    SELECT p.worker_id,
           ST_Force2D(ST_LocateBetween(p.geom, extract(epoch FROM CAST(:since AS timestamptz)),
                                       extract(epoch FROM CAST(:until AS timestamptz)))) AS g
    FROM patrol_track p WHERE p.started_at < :until AND p.ended_at >= :since)
SELECT u.code AS unit, u.grid_code,
       COALESCE(array_agg(DISTINCT t.worker_id) FILTER (WHERE t.worker_id IS NOT NULL),
                CAST('{}' AS bigint[])) AS workers
FROM unit u LEFT JOIN t ON NOT ST_IsEmpty(t.g)
     AND ST_DWithin(t.g::geography, u.geom::geography, :d)
WHERE u.code = ANY(:codes) AND u.generation_id = (SELECT id FROM generation
                                                  WHERE status = 'active')
GROUP BY u.code, u.grid_code ORDER BY u.code
"""
NAIVE_LAST_VISIT = """
SELECT u.code AS unit, u.grid_code, lv.last_visit
FROM unit u LEFT JOIN LATERAL (
    SELECT max(to_timestamp(ST_InterpolatePoint(p.geom,
               ST_ClosestPoint(ST_Force2D(p.geom), u.geom)))) AS last_visit
    FROM patrol_track p
    WHERE p.started_at <= :now AND ST_DWithin(ST_Force2D(p.geom)::geography, u.geom::geography, :d)
) lv ON true
WHERE u.code = ANY(:codes) AND u.generation_id = (SELECT id FROM generation
                                                  WHERE status = 'active')
ORDER BY u.grid_code, u.code
"""


def load_city(engine: Engine, grids: int) -> dict[str, int]:
    """The generated city's territory and roster (no buildings, no events)."""
    from etl import citygen

    city = citygen.generate_city(grids, buildings_per_unit=(1, 1), footprints_per_unit=0)
    citygen._load_territory(engine, city)
    citygen._load_roster(engine, city)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return counts(engine)


def counts(engine: Engine) -> dict[str, int]:
    """Grids, units and workers stored."""
    with engine.connect() as conn:
        return {k: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for k, t in (("grids", "grid"), ("units", "unit"), ("workers", "worker"))}


def grid_codes(engine: Engine) -> list[str]:
    """Codes of the active grids, in order."""
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT g.code FROM grid g JOIN generation gen ON gen.id = g.generation_id "
            "AND gen.status = 'active' ORDER BY g.code")).scalars())


def add_tracks(engine: Engine, lo: str, hi: str, days: int) -> dict[str, float]:
    """A track a day for ``days`` days of MONTH for the workers of grids in (lo, hi]: stored
    in bulk with the visit trigger off, then indexed by coverage.index_visits (the function
    the trigger runs), both on two connections. Tracks and seconds of each step."""
    from gis.oversight import coverage

    start, _end = clock.month_bounds(MONTH)
    counts = [0, 0]
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM patrol_track WHERE grid_code > :lo "
                                   "AND grid_code <= :hi"), {"lo": lo, "hi": hi}).scalar_one()

    def store(j: int) -> None:
        for k in range(j, days, 2):
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL statement_timeout = 0"))
                counts[j] += conn.execute(text(TRACKS), {
                    "day": start + timedelta(days=k), "k": k, "lo": lo, "hi": hi, "n": FIXES,
                    "fix_s": FIX_S, "span": (FIXES - 1) * FIX_S}).rowcount

    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE patrol_track DISABLE TRIGGER patrol_track_visits"))
    try:
        with Stopwatch() as sw_store:
            if not stored:  # --reuse: the grids' tracks are there already
                _two(store)
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE patrol_track ENABLE TRIGGER patrol_track_visits"))
    with Stopwatch() as sw_index:
        _two(lambda j: coverage.index_visits(engine, part=j, parts=2))
        coverage.compact_days(engine)  # what a part's fold skipped while the other folded
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(
            "ANALYZE patrol_track; ANALYZE patrol_track_indexed; ANALYZE patrol_visit; "
            "ANALYZE patrol_unit_day"))
    return {"tracks": sum(counts), "store_s": sw_store.s, "index_s": sw_index.s}


def _two(fn: Any) -> None:
    """``fn(0)`` and ``fn(1)`` on two threads; the first error is raised again."""
    errors: list[BaseException] = []

    def run(j: int) -> None:
        try:
            fn(j)
        except Exception as e:  # raised again below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(j,)) for j in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def naive(engine: Engine, sql: str, params: dict[str, Any]) -> tuple[float, list[dict]]:
    """One run of a naive query without a statement timeout: (seconds, rows)."""
    with engine.connect() as conn, Stopwatch() as sw:
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        rows = [dict(r) for r in conn.execute(text(sql), params).mappings()]
    return sw.s, rows


def sample_units(engine: Engine, n: int) -> list[str]:
    """``n`` unit codes spread over the city (every k-th)."""
    with engine.connect() as conn:
        codes = list(conn.execute(text(
            "SELECT u.code FROM unit u JOIN generation g ON g.id = u.generation_id "
            "AND g.status = 'active' ORDER BY u.code")).scalars())
    return codes[:: max(1, len(codes) // n)][:n]


def _previous_coverage(engine: Engine, since: Any, until: Any, d: float) -> list[Any]:
    """Coverage per grid the previous way: every unit with its visits (unit_visits), grouped
    in Python."""
    from gis.db.engine import heavy_connect
    from gis.oversight import coverage

    with heavy_connect(engine) as conn:
        return coverage._grids_of(coverage.unit_visits(conn, since, until, d), None)


def measure(engine: Engine, repeat: int, sample: int, units: int) -> dict[str, Any]:
    """Our three reads (best of ``repeat``) beside the naive definition on a sample."""
    from gis import rulebook
    from gis.oversight import assessment, coverage

    d, days = rulebook.rules().unit_distance_m, rulebook.rules().unvisited_days
    now = clock.month_bounds(MONTH)[1]  # the month's end: its last N days were patrolled
    day_start, day_end = clock.day_bounds(clock.month_bounds(MONTH)[0].astimezone(
        clock.CST).date() + timedelta(days=14))
    with engine.connect() as conn:
        complete = conn.execute(text(
            "SELECT (SELECT count(*) FROM patrol_track) = (SELECT count(*) FROM "
            "patrol_track_indexed)")).scalar_one()
    ours: dict[str, float] = {}
    ours["coverage_day_s"], _t, cov = best_of(
        lambda: coverage.coverage(engine, day_start, day_end), repeat)
    ours["coverage_day_previous_s"], _t, prev = best_of(
        lambda: _previous_coverage(engine, day_start, day_end, d), repeat)
    ours["unvisited_s"], _t, unv = best_of(lambda: coverage.unvisited(engine, days, now), repeat)
    ours["assessment_s"], _t, _a = best_of(lambda: assessment.assess(engine, MONTH), repeat)
    codes = sample_units(engine, sample)
    with engine.connect() as conn:
        vis = {v["unit"]: v for v in coverage.unit_visits(conn, day_start, day_end, d)}
    nv_s, nv = naive(engine, NAIVE_VISITS, {"since": day_start, "until": day_end, "d": d,
                                            "codes": codes})
    codes_lv = codes[: max(1, sample // 4)]
    nl_s, nl = naive(engine, NAIVE_LAST_VISIT, {"now": now, "d": d, "codes": codes_lv})
    cutoff = now - timedelta(days=days)
    stale = {u["unit"]: u for u in unv}
    same = {"coverage": all(vis[r["unit"]] == r for r in nv),
            "coverage_grids": cov["grids"] == prev,
            "unvisited": all((stale.get(r["unit"]) == r) == (r["last_visit"] is None
                                                              or r["last_visit"] < cutoff)
                             for r in nl)}
    naive_s = {"coverage_day_s": nv_s * units / len(codes),
               "unvisited_s": nl_s * units / len(codes_lv)}
    return {"ours_s": {k: rnd(v) for k, v in ours.items()},
            "naive_extrapolated_s": {k: rnd(v, 1) for k, v in naive_s.items()},
            "naive_sample": {"coverage_units": len(codes), "coverage_s": rnd(nv_s),
                             "unvisited_units": len(codes_lv), "unvisited_s": rnd(nl_s)},
            "visited_units_day": cov["visited"], "unvisited_units": len(unv),
            "indexed_all": bool(complete), "same_as_naive": same}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m bench.oversight",
                                description=__doc__.split("\n")[0])
    p.add_argument("--grids", type=int, default=10_000, help="grids (10 units and a worker each)")
    p.add_argument("--days", type=int, default=30, help="days of tracks in the month")
    p.add_argument("--sizes", default="0.1,0.3,1", help="shares of the workers patrolling")
    p.add_argument("--repeat", type=int, default=2, help="runs of each read (best kept)")
    p.add_argument("--sample", type=int, default=20, help="units in the naive sample")
    p.add_argument("--keep", action="store_true", help="keep the database at the end")
    p.add_argument("--reuse", action="store_true",
                   help="use the kept database as it is (implies --keep); see above")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Build the city, add tracks size by size, measure, print the JSON line."""
    from gis.settings import Settings

    args = parse_args(argv)
    owner = Settings().owner_url
    reuse = args.reuse and db_exists(owner, DB)
    url = database_url(owner, DB) if reuse else recreate_database(owner, DB)
    engine = prepared_engine(url)
    try:
        with Stopwatch() as sw:
            city = counts(engine) if reuse else load_city(engine, args.grids)
        say(f"city {'reused' if reuse else 'loaded'} in {sw.s:.0f} s: {city}")
        codes = grid_codes(engine)
        sizes, done, rows = [float(s) for s in args.sizes.split(",")], "", []
        for share in sizes:
            hi = codes[min(len(codes), round(share * len(codes))) - 1]
            add = add_tracks(engine, done, hi, args.days)
            done = hi
            with engine.connect() as conn:
                tracks, visits = conn.execute(text(
                    "SELECT (SELECT count(*) FROM patrol_track), "
                    "(SELECT count(*) FROM patrol_visit)")).one()
            say(f"{share}x: +{add['tracks']} tracks stored in {add['store_s']:.0f} s, their "
                f"visits indexed in {add['index_s']:.0f} s; {tracks} tracks, {visits} visits")
            m = measure(engine, args.repeat, args.sample, city["units"])
            m |= {"share": share, "tracks": int(tracks), "visits": int(visits),
                  "index_tracks_per_s": rnd(add["tracks"] / add["index_s"], 1)}
            say(f"{share}x: ours {m['ours_s']}; naive (extrapolated) "
                f"{m['naive_extrapolated_s']}; same {m['same_as_naive']}")
            rows.append(m)
    finally:
        engine.dispose()
        if not (args.keep or args.reuse):
            drop_database(owner, DB)
    last = rows[-1]
    say("growth (seconds by tracks): " + "; ".join(
        f"{r['tracks']}: {r['ours_s']}" for r in rows))
    targets = {k: bool(last["ours_s"][k] <= v) for k, v in TARGETS.items()}
    targets["same_as_naive"] = all(all(r["same_as_naive"].values()) for r in rows)
    result = {"bench": "oversight", "grids": city["grids"], "units": city["units"],
              "workers": city["workers"], "month": MONTH, "fixes_per_track": FIXES,
              "sizes": rows, "target_s": TARGETS, "targets": targets}
    print(json.dumps(result, ensure_ascii=False, default=str), flush=True)
    return result


if __name__ == "__main__":
    sys.exit(0 if all(main()["targets"].values()) else 1)
