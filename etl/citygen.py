"""Seeded city generator for benchmarks: territory, buildings inside units, located events.

Scale of the default city: 25 streets, 400 communities, 10,000 grids, 100,000 units,
1,000,000 building footprints and as many events as asked for. Each unit holds 1-3 numbered
buildings (楼栋, what a minimal unit groups) and, to 10 footprints in all, the ancillary
structures a real footprint layer also has (garages, sheds, kiosks, substations). Everything
is a pure function of the seed, so two benchmarks (or two runs) see the same city.

API (each step usable alone)::

    areas = city_areas(seed=1)                      # list[AreaRecord], parents first
    gdf = city_buildings(areas, per_unit=10)        # GeoDataFrame: source_id, floors, ...
    ev = city_events(areas, n=1_000_000)            # dict of numpy arrays (lon, lat, ...)
    info = load_city(engine, n_events=1_000_000)    # all of it into a database
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine

from etl.common import Report, copy_frame
from gis.db.queries import q
from gis.intake import catalogue
from gis.territory import generations as territory
from gis.territory import people, synthetic
from gis.territory.activation import activate
from gis.territory.generations import AreaRecord
from gis.workflow import duplicates

SQL = "etl.sql"
PKG = "etl.sql"
SOURCE = "citygen"
GENERATION_SOURCE = "etl:citygen"
ROSTER_SINCE = datetime(2024, 1, 1, tzinfo=UTC)

CITY_LAYOUT = synthetic.Layout(streets=(5, 5), communities=(4, 4), grids=(5, 5), units=(5, 2))
CITY_BOUNDS = (120.30, 31.10, 120.80, 31.28)
# 4 x 3 building slots per unit (bilinear coordinates inside the unit quadrilateral)
_SLOTS = np.array([(u, v) for v in (0.25, 0.5, 0.75) for u in (0.2, 0.4, 0.6, 0.8)])
# OSM building=* values of the structures beside a unit's numbered buildings
_ANCILLARY = ("garage", "shed", "kiosk", "service", "roof")


def _factor(n: int) -> tuple[int, int]:
    """(a, b) with a * b == n, as square as possible, the wider side along x."""
    a = max(d for d in range(1, int(np.sqrt(n)) + 1) if n % d == 0)
    return n // a, a


class CityLayout(NamedTuple):
    """A synthetic layout and its WGS84 bounds (min lon, min lat, max lon, max lat)."""

    layout: synthetic.Layout
    bounds: tuple[float, float, float, float]


def layout_for(grids: int, units_per_grid: int = 10) -> CityLayout:
    """A layout with about ``grids`` grids of ``units_per_grid`` units, and bounds keeping units
    about 100 m x 100 m (10,000 grids of 10 units: the benchmark city, 25 streets of 16
    communities of 25 grids). Grids come in communities of 25 (4 below 400 grids, a single
    community below 16), communities in streets of 16 (4 below 64 communities, a single street
    below 8)."""
    if grids < 1 or units_per_grid < 1:
        raise ValueError("grids and units per grid must be at least 1")
    per_comm = (5, 5) if grids >= 400 else (2, 2) if grids >= 16 else _factor(grids)
    n_comm = max(1, round(grids / (per_comm[0] * per_comm[1])))
    if n_comm >= 8:
        per_street = (4, 4) if n_comm >= 64 else (2, 2)
        streets = _factor(max(1, round(n_comm / (per_street[0] * per_street[1]))))
    else:
        per_street, streets = _factor(n_comm), (1, 1)
    units = (5, 2) if units_per_grid == 10 else _factor(units_per_grid)
    lay = synthetic.Layout(streets=streets, communities=per_street, grids=per_comm, units=units)
    nx, ny = lay.shape
    return CityLayout(lay, (120.30, 31.10, round(120.30 + nx * 0.001, 6),
                            round(31.10 + ny * 0.0009, 6)))


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


def _check_counts(per_unit: int, min_per_unit: int | None, footprints_per_unit: int) -> None:
    """Refuse building counts outside the 12 slots of a unit."""
    if not 1 <= per_unit <= len(_SLOTS):
        raise ValueError(f"per_unit must be 1..{len(_SLOTS)}")
    if min_per_unit is not None and not 1 <= min_per_unit <= per_unit:
        raise ValueError(f"min_per_unit must be 1..{per_unit}")
    if not 0 <= footprints_per_unit <= len(_SLOTS):
        raise ValueError(f"footprints_per_unit must be 0..{len(_SLOTS)}")


def _kinds(rng: np.random.Generator, main: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Floors and OSM kind of each footprint: numbered buildings are residential, ancillary
    structures 1-2 floors."""
    n = len(main)
    floors = rng.choice([1, 2, 3, 4, 5, 6, 7, 11, 18, 26], n,
                        p=[.1, .15, .15, .1, .15, .15, .05, .05, .05, .05])
    kinds = np.array(_ANCILLARY, dtype=object)[rng.integers(0, len(_ANCILLARY), n)]
    floors = np.where(main, floors, np.minimum(floors, 2))
    kinds[main] = "residential"
    return floors, kinds


def city_buildings(areas: list[AreaRecord], per_unit: int = 10, seed: int = 1,
                   limit: int | None = None, min_per_unit: int | None = None,
                   clip: bool = False, footprints_per_unit: int = 0) -> gpd.GeoDataFrame:
    """Rectangular footprints inside every unit (``per_unit`` each, at most 12): EPSG:4326.

    With ``min_per_unit`` each unit gets a seeded number of buildings from ``min_per_unit`` to
    ``per_unit`` (the minimal units of the demo: 1 to 3). ``footprints_per_unit`` then fills
    every unit up to that many footprints with small ancillary structures (garages, sheds,
    kiosks, substations, bicycle roofs: 1-2 floors), as real footprint layers hold beside the
    numbered buildings (楼栋). With ``clip`` every footprint is cut to its unit, so no building
    crosses a unit (or grid) boundary.
    Columns: source_id (unit code + slot), floors, height_m, building (OSM-style kind:
    ``residential`` for the numbered buildings), unit (the unit it was put in).
    """
    _check_counts(per_unit, min_per_unit, footprints_per_unit)
    rng = np.random.default_rng(seed)
    corners, codes = _unit_corners(areas)
    n_units = len(codes)
    width = max(per_unit, footprints_per_unit)
    order = np.argsort(rng.random((n_units, len(_SLOTS))), axis=1)[:, :width]
    if min_per_unit is None:
        counts = np.full(n_units, per_unit)
    else:
        counts = rng.integers(min_per_unit, per_unit + 1, n_units)
    total = np.maximum(counts, footprints_per_unit)
    rank = np.broadcast_to(np.arange(width)[None, :], (n_units, width))
    take = rank < total[:, None]
    slot = order[take]
    main = (rank < counts[:, None])[take]
    rep = np.repeat(np.arange(n_units), total)
    cx, cy = _bilinear(corners[rep], _SLOTS[slot, 0], _SLOTS[slot, 1])
    # numbered buildings: 8-18 % x 10-24 % of the unit; ancillary ones about a third of that
    scale = np.where(main, 1.0, 0.35)
    w = (corners[rep, 1, 0] - corners[rep, 0, 0]) * rng.uniform(0.04, 0.09, len(rep)) * scale
    h = (corners[rep, 3, 1] - corners[rep, 0, 1]) * rng.uniform(0.05, 0.12, len(rep)) * scale
    cx, cy, w, h, rep, slot, main = (a[:limit] for a in (cx, cy, w, h, rep, slot, main))
    geoms = shapely.box(cx - w, cy - h, cx + w, cy + h)
    if clip:
        units = np.array([a.geom for a in areas if a.level == "unit"], dtype=object)
        geoms = shapely.set_precision(shapely.intersection(geoms, units[rep]), 1e-9)
    floors, kinds = _kinds(rng, main)
    code_arr = np.array(codes, dtype=object)[rep]
    return gpd.GeoDataFrame({
        "source_id": [f"{c}-{s:02d}" for c, s in zip(code_arr, slot, strict=True)],
        "floors": floors,
        "height_m": np.round(floors * 3.1, 1),
        "building": kinds,
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
        # half just beyond the edge (the locator's "outside": nearest grid, with the distance),
        # half farther away (unassigned)
        near = rng.random(out.sum()) < 0.5
        lon[out] = dist[2] + np.where(near, rng.uniform(0.0001, 0.002, out.sum()),
                                      rng.uniform(0.005, 0.05, out.sum()))
    items = items or ["dispute.neighbour", "safety.fire", "crime.suspicious", "health.sanitation"]
    now = datetime.now(UTC).timestamp()
    return {
        "lon": lon, "lat": lat,
        "item": np.array(items, dtype=object)[rng.integers(0, len(items), n)],
        "source": np.array(["worker", "resident", "hotline", "camera"], dtype=object)[
            rng.integers(0, 4, n)],
        "reported_at": now - rng.uniform(60, days * 86400, n),
    }


@dataclass
class City:
    """A generated city in memory: territory, buildings, roster and events (not yet loaded)."""

    seed: int
    grids_asked: int
    layout: synthetic.Layout
    bounds: tuple[float, float, float, float]
    areas: list[AreaRecord]
    buildings: gpd.GeoDataFrame
    roster: list[synthetic.RosterEntry]
    n_events: int

    @property
    def description(self) -> str:
        """Generation description: names the seed and the layout (a rerun reuses it)."""
        return (f"benchmark city seed {self.seed}: {self.layout}, {len(self.buildings)} "
                "buildings")

    def counts(self) -> dict[str, int]:
        """Areas per level, buildings, roster rows, events."""
        levels: dict[str, int] = {}
        for a in self.areas:
            levels[a.level] = levels.get(a.level, 0) + 1
        return {**levels, "buildings": len(self.buildings), "roster_roles": len(self.roster),
                "events": self.n_events}


FOOTPRINTS_PER_UNIT = 10


def generate_city(grids: int = 10_000, seed: int = 1, n_events: int = 0,
                  units_per_grid: int = 10, buildings_per_unit: tuple[int, int] = (1, 3),
                  footprints_per_unit: int = FOOTPRINTS_PER_UNIT) -> City:
    """The whole city as a pure function of its arguments (no database): every unit holds
    ``buildings_per_unit`` numbered buildings, topped up with ancillary structures to
    ``footprints_per_unit`` footprints (0: numbered buildings only)."""
    layout, bounds = layout_for(grids, units_per_grid)
    areas = city_areas(seed, layout, bounds)
    lo, hi = buildings_per_unit
    gdf = city_buildings(areas, hi, seed, min_per_unit=lo, clip=True,
                         footprints_per_unit=footprints_per_unit)
    return City(seed, grids, layout, bounds, areas, gdf, synthetic.roster(areas, seed),
                n_events)


def _step(log: Callable[[str], None] | None, t0: float, msg: str) -> None:
    if log is not None:
        log(f"city: {msg} ({time.perf_counter() - t0:.1f}s)")


def _since(t: float) -> float:
    """Seconds since ``t``, rounded for the timings."""
    return round(time.perf_counter() - t, 2)


def _load_territory(engine: Engine, city: City) -> tuple[int, bool]:
    """The city's generation: the active one when it is this very city, else a new one
    activated through the one activation path. (generation id, reused)."""
    with engine.begin() as conn:
        gen = conn.execute(q(SQL, "city_active_generation", PKG),
                           {"s": GENERATION_SOURCE, "d": city.description}).scalar()
        if gen is not None:
            return gen, True
        gen = territory.create_generation(conn, city.description, source=GENERATION_SOURCE)
        territory.insert_areas(conn, gen, city.areas)
        activate(conn, gen, actor="etl city")  # the one activation path
    return gen, False


def _load_buildings(engine: Engine, city: City, source: str,
                    progress: bool | None) -> tuple[Report, int]:
    """Upsert the city's buildings and delete those of ``source`` it no longer has;
    (the load report, stale rows deleted)."""
    from etl import buildings as bld

    report = Report(kind="buildings", file="citygen", source=source)
    frame = bld.prepare(city.buildings.drop(columns=["unit"]), report, id_field="source_id",
                        name="citygen")
    bld.load_frame(engine, frame, source, report, commit=True, progress=progress)
    with engine.begin() as conn:
        stale = conn.execute(q(SQL, "city_delete_stale_buildings", PKG),
                             {"s": source, "ids": list(frame["source_id"])}).rowcount
    return report, stale


def _load_roster(engine: Engine, city: City) -> tuple[int, int]:
    """Upsert the city's workers and their roles; (workers, new roles)."""
    with engine.begin() as conn:
        ids = people.upsert_workers(conn, [people.WorkerEntry(r.worker_code, r.name, r.phone)
                                           for r in city.roster])
        before = conn.execute(q(SQL, "grid_role_count", PKG)).scalar_one()
        people.assign_roles(conn, [people.RoleGrant(ids[r.worker_code], r.area_code, r.role,
                                                    ROSTER_SINCE) for r in city.roster])
        roles = conn.execute(q(SQL, "grid_role_count", PKG)).scalar_one() - before
    return len(ids), roles


def _load_city_events(engine: Engine, city: City, seed: int, reporter: str,
                      progress: bool | None) -> tuple[int, bool]:
    """The city's events (seeded ``seed + 1``), unless events of ``reporter`` are stored
    already; (events, already loaded)."""
    from gis.territory.locator import Locator

    if not city.n_events:
        return 0, False
    with engine.begin() as conn:
        if not catalogue.active_items(conn):
            catalogue.load(conn)
        items = sorted(catalogue.active_items(conn))
        have = conn.execute(q(SQL, "events_of_reporter", PKG), {"r": reporter}).scalar_one()
    if have:
        return int(have), True
    ev = city_events(city.areas, city.n_events, seed + 1, items)
    return load_events(engine, Locator(engine), ev, reporter=reporter, progress=progress), False


class CityLoaded(TypedDict):
    """What ``load_city`` loaded: generation, counts, buildings, roster, events, timings."""

    generation: int
    territory_reused: bool
    seed: int
    layout: str
    counts: dict[str, int]
    buildings: dict[str, int]
    workers: int
    roles_added: int
    events: int
    events_already_loaded: bool
    committed: bool
    timings: dict[str, float]


def load_city(engine: Engine, seed: int = 1, n_events: int = 0, grids: int = 10_000,
              units_per_grid: int = 10, buildings_per_unit: tuple[int, int] = (1, 3),
              footprints_per_unit: int = FOOTPRINTS_PER_UNIT, source: str = SOURCE,
              progress: bool | None = None,
              log: Callable[[str], None] | None = None, city: City | None = None
              ) -> CityLoaded:
    """Write a generated city to ``engine``: territory (a new active generation, or the active
    one when it is this very city), buildings (COPY, upsert by id; buildings of ``source`` the
    city no longer has are deleted), a roster (a full-time worker per grid, the community
    secretary as grid leader) and ``n_events`` located events. A rerun with the same arguments
    changes nothing."""
    t0 = time.perf_counter()
    city = city or generate_city(grids, seed, n_events, units_per_grid, buildings_per_unit,
                                 footprints_per_unit)
    timings: dict[str, float] = {"generate_s": _since(t0)}
    _step(log, t0, f"generated {city.counts()}")
    t = time.perf_counter()
    gen, reused = _load_territory(engine, city)
    timings["territory_s"] = _since(t)
    _step(log, t0, f"territory {'already active' if reused else 'loaded'}: generation {gen}")
    t = time.perf_counter()
    report, stale = _load_buildings(engine, city, source, progress)
    timings["buildings_s"] = _since(t)
    _step(log, t0, f"buildings: {report.inserted} inserted, {report.updated} updated, "
          f"{report.unchanged} unchanged, {stale} stale deleted")
    t = time.perf_counter()
    workers, roles = _load_roster(engine, city)
    timings["roster_s"] = _since(t)
    _step(log, t0, f"roster: {workers} workers, {roles} new roles")
    t = time.perf_counter()
    n_loaded, events_skipped = _load_city_events(engine, city, seed, f"{source}:{seed}",
                                                 progress)
    timings["events_s"] = _since(t)
    _step(log, t0, f"events: {n_loaded} {'already loaded' if events_skipped else 'loaded'}")
    timings["total_s"] = _since(t0)
    return {"generation": gen, "territory_reused": reused, "seed": seed,
            "layout": str(city.layout), "counts": city.counts(),
            "buildings": {"inserted": report.inserted, "updated": report.updated,
                          "unchanged": report.unchanged, "rejected": report.rejected,
                          "stale_deleted": stale},
            "workers": workers, "roles_added": roles,
            "events": n_loaded, "events_already_loaded": events_skipped,
            "committed": True, "timings": timings}


def _event_frame(snap: Any, ev: dict[str, np.ndarray], reporter: str,
                 limits: dict[str, float]) -> pd.DataFrame:
    """Generated events as ``event`` rows, located with the locator snapshot ``snap``."""
    g, u, dist = snap.locate_many(ev["lon"], ev["lat"], with_outside=True)
    has_grid = g >= 0
    inside = has_grid & np.isnan(dist)
    outside = has_grid & ~inside
    gcode = np.array(list(snap.grid_codes) + [None], dtype=object)[g]
    gcode[~has_grid] = None
    ucode = np.array(list(snap.unit_codes) + [None], dtype=object)[u]
    gid = np.array(list(snap.grid_ids) + [0], dtype=np.int64)[g]
    uid = np.array(list(snap.unit_ids) + [0], dtype=np.int64)[u]
    has_unit = inside & (u >= 0)
    ucode[~has_unit] = None
    now = datetime.now(UTC)
    worker = {c: getattr(snap.responsible(c, now), "worker_id", None) for c in snap.grid_codes}
    t = pd.to_datetime(ev["reported_at"], unit="s", utc=True)
    hours = pd.to_timedelta(np.array([limits.get(i, 72.0) for i in ev["item"]], float), unit="h")
    wid = [worker.get(c) if c is not None else None for c in gcode]
    return pd.DataFrame({
        "item_code": ev["item"], "source": ev["source"], "reporter": reporter,
        "description": "generated", "reported_at": t, "received_at": t, "due_at": t + hours,
        "geom": [f"SRID=4326;POINT({x!r} {y!r})" for x, y in zip(ev["lon"].tolist(),
                                                                 ev["lat"].tolist(),
                                                                 strict=True)],
        "input_lon": ev["lon"], "input_lat": ev["lat"], "input_crs": "wgs84",
        "location_status": np.where(inside, "inside", np.where(outside, "outside",
                                                               "unassigned")),
        "location_method": "point",
        "distance_m": np.where(outside, np.round(dist, 2), np.nan),
        "generation_id": snap.generation,
        "grid_id": _ids_or_na(gid, has_grid),
        "unit_id": _ids_or_na(uid, has_unit),
        "grid_code": gcode, "unit_code": ucode,
        "community_code": [c[:12] if c else None for c in gcode],
        "street_code": [c[:9] if c else None for c in gcode],
        "worker_id": pd.array([w if w is not None else pd.NA for w in wid], dtype="Int64"),
    })


def _ids_or_na(ids: np.ndarray, present: np.ndarray) -> pd.arrays.IntegerArray:
    """Ids where ``present``, NA elsewhere."""
    return pd.array([int(x) if ok else pd.NA for x, ok in zip(ids, present, strict=True)],
                    dtype="Int64")


def load_events(engine: Engine, locator, ev: dict[str, np.ndarray], reporter: str = SOURCE,
                progress: bool | None = None) -> int:
    """COPY generated events located in bulk with the locator's snapshot, exactly as the intake
    would place them: inside a unit / grid, ``outside`` within the locator's distance of a grid
    (that grid, with the distance), else ``unassigned``; the responsible worker and the due
    time of the item. No history rows: these are benchmark fixtures, not intake.

    Possible duplicates are linked by the intake's rule, in bulk: the per-row trigger is off
    for the COPY (inside the transaction, so other writers wait and see it on), then one
    set-based pass (``gis.workflow.duplicates.link_bulk``) links every new event, which is
    several times
    cheaper than a million trigger calls and gives the same links."""
    from etl.common import Progress

    snap = locator.refresh(force=True)
    with engine.connect() as conn:
        limits = dict(conn.execute(q(SQL, "event_item_limits", PKG)).all())
    df = _event_frame(snap, ev, reporter, limits)
    bar = Progress(len(df), "COPY events", progress)
    try:
        with engine.begin() as conn:
            conn.execute(q(SQL, "no_statement_timeout", PKG))
            # writers wait for the load (the trigger is off only inside this transaction); the
            # new events are the ids above the current maximum
            conn.execute(q(SQL, "event_lock", PKG))
            after = conn.execute(q(SQL, "event_max_id", PKG)).scalar_one()
            conn.execute(q(SQL, "event_duplicate_trigger_off", PKG))
            copy_frame(conn.connection.cursor(), "event", df, chunk_rows=100_000, progress=bar)
            bar.stage("linking possible duplicates")
            links = duplicates.link_bulk(conn, after)
            bar.stage(f"{links} possible duplicate(s) linked")
            conn.execute(q(SQL, "event_duplicate_trigger_on", PKG))
    finally:
        bar.close()
    return len(df)
