"""Shared helpers of the patrol visit tests (no tests here): random walks, the naive
coverage definition grouped per grid, the per-day visit table as readers see it."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine, text

from gis.intake import patrols
from gis.territory.locator import Locator

# the definition: each track clipped to the period by its M time, per-unit geography ST_DWithin
NAIVE_VISITS = """
WITH gen AS (SELECT id FROM generation WHERE status = 'active'),
t AS (
    SELECT p.worker_id,
           ST_Force2D(ST_LocateBetween(p.geom, extract(epoch FROM CAST(:since AS timestamptz)),
                                       extract(epoch FROM CAST(:until AS timestamptz)))) AS g
    FROM patrol_track p WHERE p.started_at < :until AND p.ended_at >= :since)
SELECT u.code AS unit, u.grid_code,
       COALESCE(array_agg(DISTINCT t.worker_id) FILTER (WHERE t.worker_id IS NOT NULL),
                CAST('{}' AS bigint[])) AS workers
FROM unit u JOIN gen ON u.generation_id = gen.id
LEFT JOIN t ON NOT ST_IsEmpty(t.g) AND ST_DWithin(t.g::geography, u.geom::geography, :d)
WHERE :area IS NULL OR starts_with(u.grid_code, :area)
GROUP BY u.code, u.grid_code ORDER BY u.code
"""


def extent(engine: Engine) -> tuple[float, float, float, float]:
    """The box of the active generation's units."""
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e "
            "FROM unit u JOIN generation g ON g.id = u.generation_id AND g.status = 'active') s"
        )).one()
    return x0, y0, x1, y1


def walk(engine: Engine, loc: Locator, worker: str, start: datetime, fixes: int = 120,
         seed: int = 7, step: timedelta = timedelta(minutes=1)) -> int:
    """A random walk across the district (steps of ~5-40 m), a fix every ``step`` from
    ``start``; returns the track id."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = extent(engine)
    x = rng.uniform(x0, x1) + np.cumsum(rng.normal(0, 0.0003, fixes))
    y = rng.uniform(y0, y1) + np.cumsum(rng.normal(0, 0.0002, fixes))
    stored = patrols.ingest_track(engine, loc, worker, [
        patrols.Fix(float(a), float(b), start + i * step)
        for i, (a, b) in enumerate(zip(np.clip(x, x0, x1), np.clip(y, y0, y1), strict=True))])
    return int(stored["id"])


def naive_visits(engine: Engine, since: datetime, until: datetime, d: float,
                 area: str | None = None) -> list[dict]:
    """Per unit (code order) its grid and the workers who passed within ``d`` metres, by the
    naive definition."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(NAIVE_VISITS), {
            "since": since, "until": until, "d": d, "area": area}).mappings()]


def naive_grids(engine: Engine, since: datetime, until: datetime, d: float,
                area: str | None = None) -> dict[str, tuple[int, int]]:
    """grid → (units, units visited) by the naive definition."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in naive_visits(engine, since, until, d, area):
        out[r["grid_code"]][0] += 1
        out[r["grid_code"]][1] += int(bool(r["workers"]))
    return {k: (n, v) for k, (n, v) in out.items()}


def kept_days(engine: Engine) -> dict[tuple, int]:
    """(day, distance, unit id) → tracks, as readers see patrol_unit_day (folded rows plus
    the changes not folded yet), zero counts left out."""
    with engine.connect() as conn:
        return {(r.day, r.distance_m, r.unit_id): int(r.n) for r in conn.execute(text(
            "SELECT day, distance_m, unit_id, sum(tracks) AS n FROM (SELECT day, distance_m, "
            "unit_id, tracks FROM patrol_unit_day UNION ALL SELECT day, distance_m, unit_id, "
            "tracks FROM patrol_unit_day_delta) s GROUP BY 1, 2, 3 HAVING sum(tracks) <> 0"))}
