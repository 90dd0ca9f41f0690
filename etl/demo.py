"""The demo district: 3,076 real buildings of Suzhou's old town (Gusu, 320508), drawn into
streets, communities, grids and units, with a roster, cameras along the streets, a week of
patrol tracks and a month of events, most of the older ones taken through the closed loop
(accepted, dispatched, handled, closed; some late). ``load_demo(engine)`` is what
``wangge demo`` calls.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
from psycopg2.extras import execute_values
from sqlalchemy import Engine

from etl import buildings as bld
from etl.common import Report
from etl.draw import draw_district
from etl.units import M_PER_DEG, Plane
from gis.access.auth import Principal
from gis.db.queries import q
from gis.errors import Unavailable
from gis.intake import catalogue, events, patrols
from gis.territory import people
from gis.territory.locator import Locator
from gis.workflow import transitions

log = logging.getLogger(__name__)
SQL = "etl.sql"
PKG = "etl.sql"
SOURCE = "suzhou-gusu"
GENERATION_SOURCE = "etl:demo-suzhou"
DISTRICT = "320508"
DISTRICT_NAME = "姑苏区 Gusu (demo)"
FILE = "suzhou_gusu_buildings.geojson"
PATROL_DAYS = 7  # the board's and the live map's patrol coverage period
DESK = Principal("district_centre", name="指挥中心（演示）")


def data_path() -> Path:
    """The Suzhou building file: $WANGGE_DEMO_BUILDINGS, else ../shared/data beside the repo."""
    env = os.environ.get("WANGGE_DEMO_BUILDINGS")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1]
    return (repo / ".." / "shared" / "data" / FILE).resolve()


def existing_demo(engine: Engine) -> int | None:
    """Id of an already loaded demo generation (the active one first), else None."""
    with engine.connect() as conn:
        return conn.execute(q(SQL, "demo_generation", PKG), {"s": GENERATION_SOURCE}).scalar()


def load_demo(engine: Engine, seed: int = 20240601, days: int = 30, n_events: int = 600) -> int:
    """Load the Suzhou demo district once (a second call returns the existing generation)."""
    found = existing_demo(engine)
    if found is not None:
        log.info("demo: Suzhou district already loaded (generation %s)", found)
        return found
    path = data_path()
    if not path.exists():
        raise Unavailable(
            f"demo data not found: {path} (expected the shared data folder beside the "
            "repository, ../shared/data; or set WANGGE_DEMO_BUILDINGS to the GeoJSON file)",
            code="demo_data_missing")
    t0 = time.perf_counter()
    report = Report(kind="buildings", file=str(path), source=SOURCE)
    frame = bld.prepare(bld.read_buildings(path), report, name=path.name)
    bld.load_frame(engine, frame, SOURCE, report, commit=True, progress=False)
    log.info("demo: %d buildings loaded (%.1fs)", report.loaded, time.perf_counter() - t0)
    out = draw_district(engine, DISTRICT, DISTRICT_NAME, source=SOURCE, commit=True,
                        description="Suzhou Gusu demo: drawn from 3,076 real buildings",
                        generation_source=GENERATION_SOURCE)
    gen = out["generation"]
    areas = out["drawn"].areas
    log.info("demo: territory drawn, generation %s %s (%.1fs)", gen, out["levels"],
             time.perf_counter() - t0)
    rng = np.random.default_rng(seed)
    with engine.begin() as conn:
        if not catalogue.active_items(conn):
            catalogue.load(conn)
        _roster(conn, areas, rng)
        cams = _cameras(conn, frame, areas, rng)
    locator = Locator(engine)
    locator.refresh(force=True)
    _patrols(engine, locator, areas, rng, min(days, PATROL_DAYS))
    _events(engine, locator, frame, cams, rng, n_events, days)
    _close_loop(engine, rng)
    log.info("demo: roster, %d cameras, patrols and events loaded (%.1fs)", len(cams),
             time.perf_counter() - t0)
    return gen


def _phone(rng: np.random.Generator) -> str:
    """A plausible mainland mobile number."""
    return "1" + str(rng.choice([3, 5, 8, 9])) + "".join(map(str, rng.integers(0, 10, 9)))


def _roster(conn, areas, rng: np.random.Generator) -> None:
    """A full-time worker per grid; each community's secretary leads its grids."""
    since = datetime.now(UTC) - timedelta(days=365)
    grids = [a for a in areas if a.level == "grid"]
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
    workers, roles = [], []
    for k, g in enumerate(grids):
        wcode = f"W{g.code}"
        workers.append(people.WorkerEntry(wcode, surnames[k % 20] + given[(k * 7) % 20],
                                          _phone(rng)))
        roles.append((wcode, g.code, "full_time"))
        lcode = f"L{g.parent_code}"
        if lcode not in {w[0] for w in workers}:
            c = int(g.parent_code[-3:])
            workers.append(people.WorkerEntry(
                lcode, surnames[(c * 3) % 20] + given[(c * 11) % 20] + "（书记）", _phone(rng)))
        roles.append((lcode, g.code, "grid_leader"))
    ids = people.upsert_workers(conn, workers)
    people.assign_roles(conn, [people.RoleGrant(ids[w], a, r, since) for w, a, r in roles])


def _cameras(conn, frame, areas, rng: np.random.Generator, spacing_m: float = 90.0
             ) -> list[str]:
    """Cameras along the streets: points 8 m off the outer edge of each building block."""
    geoms = frame.geometry.to_numpy()
    pts = shapely.point_on_surface(geoms)
    plane = Plane.around(shapely.get_x(pts), shapely.get_y(pts))
    gm = plane.fwd(geoms)
    blocks = shapely.union_all(shapely.buffer(gm, 8.0, quad_segs=2))
    rings = [shapely.LineString(p.exterior.coords) for p in shapely.get_parts(blocks)
             if p.exterior.length > 4 * spacing_m]
    district = plane.fwd([a.geom for a in areas if a.level == "district"][0])
    cand = []
    for ring in rings:
        n = int(ring.length // spacing_m)
        cand += [ring.interpolate(i * spacing_m) for i in range(n)]
    cand = np.array([c for c in cand if district.contains(c)], dtype=object)
    chosen: list = []
    tree_pts: list = []
    for c in cand:
        if all(c.distance(o) >= spacing_m * 0.8 for o in tree_pts[-60:]):
            chosen.append(c)
            tree_pts.append(c)
    wgs = plane.inv(np.array(chosen, dtype=object))
    rows = []
    kinds = ["fixed", "fixed", "ptz", "dome", "ai"]
    for i, p in enumerate(wgs):
        status = "online" if rng.random() > 0.06 else rng.choice(["offline", "fault"])
        rows.append((f"CAM{DISTRICT}{i + 1:04d}", f"姑苏视频点 {i + 1}", kinds[i % 5],
                     float(rng.integers(0, 360)), str(status),
                     f"SRID=4326;POINT({p.x!r} {p.y!r})"))
    cur = conn.connection.dbapi_connection.cursor()
    try:
        execute_values(cur, q(SQL, "demo_cameras", PKG).text, rows, page_size=1000)
    finally:
        cur.close()
    return [r[0] for r in rows]


def _patrols(engine: Engine, locator: Locator, areas, rng: np.random.Generator,
             days: int) -> None:
    """A morning patrol per full-time worker per day: a loop inside the grid."""
    grids = [a for a in areas if a.level == "grid"]
    today = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    for g in grids:
        c = g.geom.centroid
        plane = Plane(c.x, c.y)
        inner = shapely.buffer(plane.fwd(g.geom), -25.0)
        parts = sorted(shapely.get_parts(inner), key=lambda p: -p.area) if not inner.is_empty \
            else []
        if not parts:
            continue
        ring = parts[0].exterior
        for d in range(days, 0, -1):
            start = today - timedelta(days=d, minutes=int(rng.integers(0, 90)))
            n = 40
            offs = float(rng.random())
            fixes = []
            for k in range(n + 1):
                p = ring.interpolate(((offs + k / n) % 1.0) * ring.length)
                jitter = rng.normal(0, 3.0, 2)
                lon = c.x + (p.x + jitter[0]) / plane.kx
                lat = c.y + (p.y + jitter[1]) / M_PER_DEG
                fixes.append(patrols.Fix(lon, lat, start + timedelta(seconds=int(k * 150))))
            patrols.ingest_track(engine, locator, f"W{g.code}", fixes)


def _events(engine: Engine, locator: Locator, frame, cams: list[str],
            rng: np.random.Generator, n: int, days: int) -> None:
    """Events at buildings over the last days (located and given history by the intake)."""
    with engine.connect() as conn:
        items = sorted(catalogue.active_items(conn))
    pts = shapely.point_on_surface(frame.geometry.to_numpy())
    now = datetime.now(UTC)
    sources = ["worker", "worker", "resident", "hotline", "camera"]
    reports = []
    for _ in range(n):
        i = int(rng.integers(0, len(pts)))
        src = sources[int(rng.integers(0, len(sources)))]
        lon = pts[i].x + float(rng.normal(0, 4e-5))
        lat = pts[i].y + float(rng.normal(0, 4e-5))
        reports.append(events.Report(
            item=items[int(rng.integers(0, len(items)))], source=src, lon=lon, lat=lat,
            camera_code=cams[int(rng.integers(0, len(cams)))] if src == "camera" and cams
            else None,
            description="演示事件（示例数据）", reporter="demo",
            reported_at=now - timedelta(minutes=int(rng.integers(5, days * 24 * 60)))))
    for r in reports:  # each received a minute after it was reported, not all at load time
        at = r.reported_at or now
        events.ingest(engine, locator, [r], received_at=min(at + timedelta(minutes=1), now))


def _close_loop(engine: Engine, rng: np.random.Generator) -> None:
    """The desk's month: events older than a day mostly closed (one in five resolved late),
    the more so the older; a few still being handled or left open; today's mostly waiting
    to be accepted."""
    now = datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "demo_events", PKG)).all()
    for eid, at, due in rows:
        age = now - at
        odds = float(rng.random())
        closed, handling = (0.8, 0.9) if age < timedelta(days=7) else (0.96, 0.98)
        if age < timedelta(days=1):
            steps = ("accept",) if odds < 0.3 else ()
        elif odds < closed:
            steps = ("accept", "dispatch", "start", "resolve", "close")
        elif odds < handling:
            steps = ("accept", "dispatch", "start")
        else:
            steps = ()  # left open: overdue at the desk
        late = float(rng.random()) < 0.2
        for step, when in zip(steps, _times(at, due, late, now, rng), strict=False):
            transitions.transition(engine, eid, step, DESK, note=DEMO_NOTES.get(step),
                                   now=when)


DEMO_NOTES = {"dispatch": "派网格员现场处置", "start": "已到现场", "resolve": "已处置完毕",
              "close": "核查属实，结案"}


def _times(at: datetime, due: datetime | None, late: bool, now: datetime,
           rng: np.random.Generator) -> list[datetime]:
    """Accept, dispatch, start, resolve and close times after report time ``at``: resolved
    before the due time ``due``, or up to two days after it when ``late``; never after now."""
    limit = (due - at) if due is not None else timedelta(days=1)
    accept = at + timedelta(minutes=int(rng.integers(5, 60)))
    dispatch = accept + timedelta(minutes=int(rng.integers(5, 30)))
    start = dispatch + timedelta(minutes=int(rng.integers(10, 90)))
    resolve = (at + limit + timedelta(hours=float(rng.uniform(1, 48)))) if late else \
        max(start + timedelta(minutes=10), at + limit * float(rng.uniform(0.3, 0.9)))
    close = resolve + timedelta(minutes=int(rng.integers(20, 240)))
    return [min(t, now) for t in (accept, dispatch, start, resolve, close)]
