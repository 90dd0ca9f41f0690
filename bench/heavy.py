"""Heavy reads on the demo district: ``python -m bench.heavy [--repeat 5] [--db NAME]``.

Loads the Suzhou demo district (1,131 units, 112 tracks: a week of 16 grids' rounds) into a
dedicated database on DATABASE_URL's server (dropped and re-created), then, in the same run:

1. the baseline: the per-unit queries as they were before issue 11 (one geography
   ``ST_DWithin`` per unit against every track, under the session's default settings), timed
   once each (they take tens of seconds);
2. the platform's functions behind ``/patrols/unvisited``, ``/patrols/due`` (reminders),
   ``/patrols/coverage`` and ``/reports/assessment``, best of ``--repeat``;
3. whether the old and new answers are equal.

Human-readable lines first; the LAST line is one JSON object with the seconds and the ratios.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from bench.common import Stopwatch, best_of, prepared_engine, recreate_database, rnd, say
from gis import clock

TARGET_S = 1.0

OLD_UNIT_LAST_VISIT = """
WITH gen AS (SELECT id FROM generation WHERE status = 'active')
SELECT u.code AS unit, u.grid_code, lv.last_visit
FROM unit u JOIN gen ON u.generation_id = gen.id
LEFT JOIN LATERAL (
    SELECT max(to_timestamp(ST_InterpolatePoint(p.geom,
               ST_ClosestPoint(ST_Force2D(p.geom), u.geom)))) AS last_visit
    FROM patrol_track p
    WHERE p.started_at <= :now AND ST_DWithin(ST_Force2D(p.geom)::geography, u.geom::geography, :d)
) lv ON true
WHERE (CAST(:area AS text) IS NULL OR starts_with(u.grid_code, :area))
  AND (lv.last_visit IS NULL OR lv.last_visit < :cutoff)
ORDER BY u.grid_code, u.code
"""
OLD_UNIT_VISITS = """
WITH gen AS (SELECT id FROM generation WHERE status = 'active'),
t AS (
    SELECT p.worker_id,
           ST_Force2D(ST_LocateBetween(p.geom, extract(epoch FROM CAST(:since AS timestamptz)),
                                       extract(epoch FROM CAST(:until AS timestamptz)))) AS g
    FROM patrol_track p
    WHERE p.started_at < :until AND p.ended_at >= :since
)
SELECT u.code AS unit, u.grid_code,
       COALESCE(array_agg(DISTINCT t.worker_id) FILTER (WHERE t.worker_id IS NOT NULL),
                CAST('{}' AS bigint[])) AS workers
FROM unit u JOIN gen ON u.generation_id = gen.id
LEFT JOIN t ON NOT ST_IsEmpty(t.g) AND ST_DWithin(t.g::geography, u.geom::geography, :d)
WHERE CAST(:area AS text) IS NULL OR starts_with(u.grid_code, :area)
GROUP BY u.code, u.grid_code
ORDER BY u.code
"""


def _old(engine: Engine, sql: str, params: dict[str, Any]) -> tuple[float, list[dict]]:
    """One run of an old query (no statement timeout): (seconds, rows)."""
    with engine.connect() as conn, Stopwatch() as sw:
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        rows = [dict(r) for r in conn.execute(text(sql), params).mappings()]
    return sw.s, rows


def _track_month(engine: Engine) -> str:
    """The month (China Standard Time) of the newest track."""
    with engine.connect() as conn:
        newest = conn.execute(text("SELECT max(started_at) FROM patrol_track")).scalar_one()
    return newest.astimezone(clock.CST).strftime("%Y-%m")


def run(engine: Engine, repeat: int) -> dict[str, Any]:
    """Old vs new on the loaded district: seconds, ratios and whether the answers agree."""
    from gis import rulebook
    from gis.oversight import assessment, coverage

    d = rulebook.rules().unit_distance_m
    days = rulebook.rules().unvisited_days
    now = datetime.now(UTC)
    month = _track_month(engine)
    since, until = assessment.month_bounds(month)
    old_unv_s, old_unv = _old(engine, OLD_UNIT_LAST_VISIT, {
        "now": now, "cutoff": now - timedelta(days=days), "area": None, "d": d})
    say(f"old unit_last_visit (unvisited): {old_unv_s:.2f} s, {len(old_unv)} units")
    old_vis_s, old_vis = _old(engine, OLD_UNIT_VISITS, {
        "since": since, "until": until, "area": None, "d": d})
    say(f"old unit_visits ({month}): {old_vis_s:.2f} s")
    new: dict[str, float] = {}
    new["unvisited"], _t, new_unv = best_of(lambda: coverage.unvisited(engine, days, now), repeat)
    new["reminders"], _t, _r = best_of(lambda: coverage.reminders(engine, now=now), repeat)
    new["coverage"], _t, _c = best_of(lambda: coverage.coverage(engine, since, until), repeat)
    new["assessment"], _t, _a = best_of(lambda: assessment.assess(engine, month), repeat)
    with engine.connect() as conn:
        new_vis = coverage.unit_visits(conn, since, until, d)
    for k, v in new.items():
        say(f"new {k}: {v:.3f} s")
    same = {"unvisited": new_unv == old_unv, "unit_visits": new_vis == old_vis}
    say(f"same answers: {same}")
    return {
        "bench": "heavy", "units": len(new_vis), "month": month, "distance_m": d,
        "old_s": {"unit_last_visit": rnd(old_unv_s), "unit_visits": rnd(old_vis_s)},
        "new_s": {k: rnd(v) for k, v in new.items()},
        "speedup": {"unvisited": rnd(old_unv_s / new["unvisited"], 1),
                    "coverage": rnd(old_vis_s / new["coverage"], 1)},
        "same": same, "target_s": TARGET_S,
        "ok": all(same.values()) and max(new.values()) < TARGET_S,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m bench.heavy", description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=5, help="runs of each new function (best kept)")
    p.add_argument("--db", default="wangge_bench_heavy", help="dedicated database (dropped!)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Load the demo district, compare, print the JSON line."""
    from etl.demo import load_demo
    from gis.settings import Settings

    args = parse_args(argv)
    base = Settings().owner_url  # creating the bench database is the owner's right
    engine = prepared_engine(recreate_database(base, args.db))
    with Stopwatch() as sw:
        load_demo(engine)
    say(f"demo district loaded in {sw.s:.1f} s")
    result = run(engine, args.repeat)
    engine.dispose()
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
