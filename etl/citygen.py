"""Seeded city generator for benchmarks: territory, buildings inside units, located events.

Scale of the default city: 25 streets, 400 communities, 10,000 grids, 100,000 units,
1,000,000 buildings (10 per unit) and as many events as asked for. Everything is a pure
function of the seed, so two benchmarks (or two runs) see the same city.

API (each step usable alone)::

    areas = city_areas(seed=1)                      # list[AreaRecord], parents first
    gdf = city_buildings(areas, per_unit=10)        # GeoDataFrame: source_id, floors, ...
    ev = city_events(areas, n=1_000_000)            # dict of numpy arrays (lon, lat, ...)
    info = load_city(engine, n_events=1_000_000)    # all of it into a database
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, text

from gis import synthetic, territory
from gis.territory import AreaRecord

CITY_LAYOUT = synthetic.Layout(streets=(5, 5), communities=(4, 4), grids=(5, 5), units=(5, 2))
CITY_BOUNDS = (120.30, 31.10, 120.80, 31.28)
# 4 x 3 building slots per unit (bilinear coordinates inside the unit quadrilateral)
_SLOTS = np.array([(u, v) for v in (0.25, 0.5, 0.75) for u in (0.2, 0.4, 0.6, 0.8)])


@dataclass(frozen=True)
class CitySize:
    """How big a city to generate."""

    layout: synthetic.Layout = CITY_LAYOUT
    bounds: tuple[float, float, float, float] = CITY_BOUNDS
    buildings_per_unit: int = 10


def layout_for(grids: int) -> tuple[synthetic.Layout, tuple[float, float, float, float]]:
    """A layout with about ``grids`` grids (10 units each) and bounds keeping ~100 m units."""
    if grids >= 10_000:
        return CITY_LAYOUT, CITY_BOUNDS
    side = max(1, int(round(np.sqrt(grids / 16))))
    lay = synthetic.Layout(streets=(side, side), communities=(2, 2), grids=(2, 2), units=(5, 2))
    nx, ny = lay.shape
    return lay, (120.30, 31.10, 120.30 + nx * 0.001, 31.10 + ny * 0.0009)


def city_areas(seed: int = 1, layout: synthetic.Layout = CITY_LAYOUT,
               bounds: tuple[float, float, float, float] = CITY_BOUNDS,
               district_code: str = "320500") -> list[AreaRecord]:
    """Streets, communities, grids and units of the city (shared edges), parents first."""
    return synthetic.generate(bounds=bounds, layout=layout, district_code=district_code,
                              district_name="Benchmark city", jitter=0.2, seed=seed,
                              special_last_grid=None)


def _unit_corners(areas: list[AreaRecord]) -> tuple[np.ndarray, list[str]]:
    """(n_units, 4, 2) corner array of the unit quadrilaterals, and the unit codes."""
    units = [a for a in areas if a.level == "unit"]
    rings = shapely.get_exterior_ring(np.array([u.geom for u in units], dtype=object))
    coords = shapely.get_coordinates(rings).reshape(len(units), 5, 2)[:, :4, :]
    return coords, [u.code for u in units]


def _bilinear(c: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Point at (u, v) of each quad (corners A, B, C, D counter-clockwise)."""
    a, b, cc, d = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
    p = ((1 - u) * (1 - v))[:, None] * a + (u * (1 - v))[:, None] * b + (u * v)[:, None] * cc \
        + ((1 - u) * v)[:, None] * d
    return p[:, 0], p[:, 1]


def city_buildings(areas: list[AreaRecord], per_unit: int = 10, seed: int = 1,
                   limit: int | None = None) -> gpd.GeoDataFrame:
    """Rectangular footprints inside every unit (``per_unit`` each, at most 12): EPSG:4326.

    Columns: source_id (unit code + slot), floors, height_m, unit (the unit it was put in).
    """
    if not 1 <= per_unit <= len(_SLOTS):
        raise ValueError(f"per_unit must be 1..{len(_SLOTS)}")
    rng = np.random.default_rng(seed)
    corners, codes = _unit_corners(areas)
    n_units = len(codes)
    slot = np.argsort(rng.random((n_units, len(_SLOTS))), axis=1)[:, :per_unit]
    uu = _SLOTS[slot, 0].ravel()
    vv = _SLOTS[slot, 1].ravel()
    rep = np.repeat(np.arange(n_units), per_unit)
    cx, cy = _bilinear(corners[rep], uu, vv)
    w = (corners[rep, 1, 0] - corners[rep, 0, 0]) * rng.uniform(0.04, 0.09, len(rep))
    h = (corners[rep, 3, 1] - corners[rep, 0, 1]) * rng.uniform(0.05, 0.12, len(rep))
    if limit is not None:
        cx, cy, w, h, rep, slot_flat = cx[:limit], cy[:limit], w[:limit], h[:limit], \
            rep[:limit], slot.ravel()[:limit]
    else:
        slot_flat = slot.ravel()
    geoms = shapely.box(cx - w, cy - h, cx + w, cy + h)
    floors = rng.choice([1, 2, 3, 4, 5, 6, 7, 11, 18, 26], len(rep),
                        p=[.1, .15, .15, .1, .15, .15, .05, .05, .05, .05])
    code_arr = np.array(codes, dtype=object)[rep]
    return gpd.GeoDataFrame({
        "source_id": [f"{c}-{s:02d}" for c, s in zip(code_arr, slot_flat, strict=True)],
        "floors": floors,
        "height_m": np.round(floors * 3.1, 1),
        "unit": code_arr,
    }, geometry=geoms, crs="EPSG:4326")


def city_events(areas: list[AreaRecord], n: int = 1_000_000, seed: int = 2,
                items: list[str] | None = None, days: int = 365,
                outside_share: float = 0.01) -> dict[str, np.ndarray]:
    """``n`` event points (most inside units, ``outside_share`` beyond the city), with item,
    source and reported_at (UTC epoch seconds over the last ``days``)."""
    rng = np.random.default_rng(seed)
    corners, _codes = _unit_corners(areas)
    k = rng.integers(0, len(corners), n)
    lon, lat = _bilinear(corners[k], rng.random(n), rng.random(n))
    out = rng.random(n) < outside_share
    if out.any():
        dist = [a for a in areas if a.level == "district"][0].geom.bounds
        lon[out] = dist[2] + rng.uniform(0.001, 0.05, out.sum())
    items = items or ["dispute.neighbour", "safety.fire", "crime.suspicious", "health.sanitation"]
    now = datetime.now(UTC).timestamp()
    return {
        "lon": lon, "lat": lat,
        "item": np.array(items, dtype=object)[rng.integers(0, len(items), n)],
        "source": np.array(["worker", "resident", "hotline", "camera"], dtype=object)[
            rng.integers(0, 4, n)],
        "reported_at": now - rng.uniform(60, days * 86400, n),
    }


def load_city(engine: Engine, seed: int = 1, n_events: int = 0, per_unit: int = 10,
              grids: int = 10_000, source: str = "citygen") -> dict:
    """Write a generated city (active generation, buildings via COPY, events) to ``engine``."""
    from etl import buildings as bld
    from etl.common import Report
    from gis.locator import Locator

    layout, bounds = layout_for(grids)
    areas = city_areas(seed, layout, bounds)
    with engine.begin() as conn:
        gen = territory.create_generation(conn, f"benchmark city seed {seed}", source="citygen")
        territory.insert_areas(conn, gen, areas)
        territory.activate_generation(conn, gen)
    gdf = city_buildings(areas, per_unit, seed)
    report = Report(kind="buildings", file="citygen", source=source)
    frame = bld.prepare(gdf.drop(columns=["unit"]), report, id_field="source_id", name="citygen")
    bld.load_frame(engine, frame, source, report, commit=True)
    n_loaded = 0
    if n_events:
        with engine.connect() as conn:
            items = [r[0] for r in conn.execute(text(
                "SELECT code FROM event_item WHERE active ORDER BY code"))] or None
        ev = city_events(areas, n_events, seed + 1, items)
        n_loaded = load_events(engine, Locator(engine), ev)
    return {"generation": gen, "areas": len(areas), "buildings": report.loaded,
            "events": n_loaded}


def load_events(engine: Engine, locator, ev: dict[str, np.ndarray]) -> int:
    """COPY generated events, located in bulk with the locator's snapshot (one history row
    each is not written: these are benchmark fixtures, not intake)."""
    snap = locator.refresh(force=True)
    g, u, dist = snap.locate_many(ev["lon"], ev["lat"], with_outside=False)
    inside = g >= 0
    gid = np.where(inside, np.array(snap.grid_ids + [0])[g], 0)
    uid = np.where(u >= 0, np.array(snap.unit_ids + [0])[u], 0)
    gcode = np.array(snap.grid_codes + [""], dtype=object)[g]
    ucode = np.array(snap.unit_codes + [""], dtype=object)[u]
    t = pd.to_datetime(ev["reported_at"], unit="s", utc=True)
    df = pd.DataFrame({
        "item_code": ev["item"], "source": ev["source"], "reported_at": t, "received_at": t,
        "geom": [f"SRID=4326;POINT({x!r} {y!r})" for x, y in zip(ev["lon"], ev["lat"],
                                                                 strict=True)],
        "location_status": np.where(inside, "inside", "unassigned"),
        "location_method": "point",
        "generation_id": snap.generation,
        "grid_id": pd.array(np.where(inside, gid, None), dtype="Int64"),
        "unit_id": pd.array(np.where(u >= 0, uid, None), dtype="Int64"),
        "grid_code": np.where(inside, gcode, None),
        "unit_code": np.where(u >= 0, ucode, None),
        "community_code": [c[:12] if c else None for c in np.where(inside, gcode, None)],
        "street_code": [c[:9] if c else None for c in np.where(inside, gcode, None)],
    })
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cols = ", ".join(df.columns)
        for s in range(0, len(df), 200_000):
            buf = io.StringIO()
            df.iloc[s:s + 200_000].to_csv(buf, index=False, header=False, na_rep="")
            buf.seek(0)
            cur.copy_expert(f"COPY event ({cols}) FROM STDIN WITH (FORMAT csv, NULL '')", buf)
        raw.commit()
    finally:
        raw.close()
    return len(df)
