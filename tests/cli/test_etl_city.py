"""The seeded benchmark city at a small scale: structure, located events, same seed = same
city, reruns change nothing; and load progress on stderr."""

from __future__ import annotations

from collections import Counter

import numpy as np
import shapely
from sqlalchemy import text
from typer.testing import CliRunner

from etl import buildings as bld
from etl import citygen
from etl.common import Report
from gis.territory.locator import Locator


def test_same_seed_same_city_and_scaling() -> None:
    a = citygen.generate_city(grids=20, seed=5, n_events=0)
    b = citygen.generate_city(grids=20, seed=5, n_events=0)
    c = citygen.generate_city(grids=20, seed=6, n_events=0)
    assert [x.code for x in a.areas] == [x.code for x in b.areas]
    assert all(x.geom.equals_exact(y.geom, 0) for x, y in zip(a.areas, b.areas, strict=True))
    assert a.buildings["source_id"].tolist() == b.buildings["source_id"].tolist()
    assert shapely.equals_exact(a.buildings.geometry.to_numpy(),
                                b.buildings.geometry.to_numpy(), 0).all()
    assert a.buildings["source_id"].tolist() != c.buildings["source_id"].tolist()
    ea = citygen.city_events(a.areas, 300, 9)
    eb = citygen.city_events(b.areas, 300, 9)
    assert np.array_equal(ea["lon"], eb["lon"]) and np.array_equal(ea["item"], eb["item"])
    for n in (1, 7, 20, 400, 10_000):
        lay, _b = citygen.layout_for(n)
        got = (lay.streets[0] * lay.streets[1] * lay.communities[0] * lay.communities[1]
               * lay.grids[0] * lay.grids[1])
        assert got == n, (n, lay)
    assert citygen.layout_for(10_000) == (citygen.CITY_LAYOUT, citygen.CITY_BOUNDS)


def test_city_cli_preview_then_load_structure_and_events(clean_db, settings) -> None:
    from wangge.cli import app

    env = {"DATABASE_URL": settings.database_url}
    runner = CliRunner()
    res = runner.invoke(app, ["etl", "city", "--grids", "20", "--seed", "3", "--events", "400"],
                        env=env)
    assert res.exit_code == 0, res.output
    assert "preview only" in res.output
    with clean_db.connect() as c:
        assert c.execute(text("SELECT count(*) FROM generation")).scalar_one() == 0
    res = runner.invoke(app, ["etl", "city", "--grids", "20", "--seed", "3", "--events", "400",
                              "--commit"], env=env)
    assert res.exit_code == 0, res.output
    with clean_db.connect() as c:
        gen = c.execute(text("SELECT id FROM generation WHERE status = 'active'")).scalar_one()
        levels = dict(c.execute(text(
            "SELECT 'grid', count(*) FROM grid WHERE generation_id = :g UNION ALL "
            "SELECT 'unit', count(*) FROM unit WHERE generation_id = :g UNION ALL "
            "SELECT 'building', count(*) FROM building UNION ALL "
            "SELECT 'event', count(*) FROM event UNION ALL "
            "SELECT 'full_time', count(DISTINCT area_code) FROM grid_role "
            "WHERE role = 'full_time' AND valid_to IS NULL"), {"g": gen}).all())
        ev = c.execute(text(
            "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, location_status, grid_code, "
            "unit_code, distance_m, worker_id, grid_id FROM event ORDER BY id")).all()
    assert levels["grid"] == 20 and levels["unit"] == 200 and levels["full_time"] == 20
    assert levels["event"] == 400 and levels["building"] == 2000  # 10 footprints per unit
    # every unit holds 1-3 buildings (by the locator: each building point in its unit)
    loc = Locator(clean_db)
    snap = loc.refresh(force=True)
    with clean_db.connect() as c:
        pts = c.execute(text("SELECT source_id, ST_X(point), ST_Y(point), "
                             "properties->>'building' FROM building")).all()
    _g, u, _d = snap.locate_many(np.array([p[1] for p in pts]), np.array([p[2] for p in pts]),
                                 with_outside=False)
    assert (u >= 0).all()
    per_unit = Counter(snap.unit_codes[i] for i, p in zip(u, pts, strict=True)
                       if p[3] == "residential")
    assert len(per_unit) == 200 and set(per_unit.values()) <= {1, 2, 3}
    assert set(Counter(snap.unit_codes[i] for i in u).values()) == {10}
    assert {p[3] for p in pts} - {"residential"} <= set(citygen._ANCILLARY)
    assert all(snap.unit_codes[i] == p[0][:-3] for i, p in zip(u, pts, strict=True))
    # buildings stay inside their unit (never across a grid boundary)
    with clean_db.connect() as c:
        crossing = c.execute(text(
            "SELECT count(*) FROM building b JOIN unit u ON u.generation_id = :g AND "
            "u.code = left(b.source_id, length(b.source_id) - 3) "
            "WHERE NOT ST_Covers(ST_Buffer(u.geom, 1e-9), b.geom)"), {"g": gen}).scalar_one()
    assert crossing == 0
    # events are where the locator puts them
    statuses = Counter(e.location_status for e in ev)
    assert statuses["inside"] >= 380 and statuses["outside"] + statuses["unassigned"] >= 1
    for e in ev[:150] + [e for e in ev if e.location_status != "inside"]:
        want = loc.locate(e.lon, e.lat)
        assert (e.location_status, e.grid_code, e.unit_code) == (want.status, want.grid,
                                                                  want.unit), e
        assert e.worker_id == want.worker_id
        if e.location_status == "outside":
            assert abs(e.distance_m - want.distance_m) < 1.0
    # a rerun changes nothing
    res = runner.invoke(app, ["etl", "city", "--grids", "20", "--seed", "3", "--events", "400",
                              "--commit"], env=env)
    assert res.exit_code == 0, res.output
    with clean_db.connect() as c:
        assert c.execute(text("SELECT count(*) FROM generation")).scalar_one() == 1
        assert c.execute(text("SELECT count(*) FROM event")).scalar_one() == 400
        assert c.execute(text("SELECT count(*) FROM grid_role")).scalar_one() == 40
        assert c.execute(text("SELECT count(*) FROM building")).scalar_one() == \
            levels["building"]


def test_progress_on_stderr_when_asked(clean_db, capsys) -> None:
    gdf = citygen.generate_city(grids=1, seed=1).buildings.drop(columns=["unit"])
    frame = bld.prepare(gdf, Report("buildings", "x"), id_field="source_id")
    bld.load_frame(clean_db, frame, "p1", Report("buildings", "x"), progress=True,
                   progress_min_rows=5)
    err = capsys.readouterr().err
    assert "COPY buildings" in err and f"{len(frame)}/{len(frame)}" in err
    assert "new rows copied" in err
    # quiet by default when stderr is not a terminal, and below the threshold
    bld.load_frame(clean_db, frame, "p2", Report("buildings", "x"), progress_min_rows=5)
    bld.load_frame(clean_db, frame, "p3", Report("buildings", "x"), progress=True)
    assert capsys.readouterr().err == ""


def test_buildings_cli_progress_flag(clean_db, settings, tmp_path, monkeypatch) -> None:
    from wangge.cli import app

    monkeypatch.setattr(bld, "PROGRESS_MIN_ROWS", 1)
    gdf = citygen.generate_city(grids=1, seed=1).buildings.drop(columns=["unit"])
    gdf.to_file(tmp_path / "b.geojson", driver="GeoJSON")
    runner = CliRunner()
    res = runner.invoke(app, ["etl", "buildings", str(tmp_path / "b.geojson"), "--commit",
                              "--progress"], env={"DATABASE_URL": settings.database_url})
    assert res.exit_code == 0, res.output
    assert "COPY buildings" in res.stderr and "placing" in res.stderr
    res = runner.invoke(app, ["etl", "buildings", str(tmp_path / "b.geojson"), "--commit"],
                        env={"DATABASE_URL": settings.database_url})
    assert res.exit_code == 0 and "COPY buildings" not in res.stderr


def test_bulk_event_load_links_duplicates_as_the_trigger_does(owner_db) -> None:
    """The bulk path (trigger off, one set-based pass) links exactly what the per-row trigger
    links for the same rows inserted one after another."""
    citygen.load_city(owner_db, seed=4, grids=4, footprints_per_unit=0)
    rng = np.random.default_rng(11)
    n = 400
    centres = rng.uniform([120.3002, 31.1002], [120.3038, 31.1034], (25, 2))
    k = rng.integers(0, len(centres), n)
    # clustered within ~150 m, over two days, two items: plenty of near pairs, some beyond
    # the 100 m / 24 h window
    ev = {"lon": centres[k, 0] + rng.normal(0, 0.0006, n),
          "lat": centres[k, 1] + rng.normal(0, 0.0005, n),
          "item": np.array(["safety.fire", "dispute.neighbour"], dtype=object)[
              rng.integers(0, 2, n)],
          "source": np.array(["worker"] * n, dtype=object),
          "reported_at": 1.7e9 + rng.uniform(0, 2 * 86400, n)}
    with owner_db.begin() as c:
        from gis.intake import catalogue
        if not catalogue.active_items(c):
            catalogue.load(c)
    assert citygen.load_events(owner_db, Locator(owner_db), ev, reporter="bulk") == n

    def links() -> set[tuple[int, int, float]]:
        with owner_db.connect() as c:
            rows = c.execute(text(
                "SELECT d.event_id - m.lo, d.original_id - m.lo, round(d.distance_m::numeric, 3) "
                "FROM event_duplicate d, (SELECT min(id) AS lo FROM event) m")).all()
        return {(int(a), int(b), float(d)) for a, b, d in rows}

    bulk = links()
    assert len(bulk) > 20
    # the same rows again, inserted with the trigger on, in the same order
    with owner_db.begin() as c:
        c.execute(text("CREATE TEMP TABLE ev_again ON COMMIT DROP AS "
                       "SELECT * FROM event ORDER BY id"))
        c.execute(text("DELETE FROM event"))
        cols = [r[0] for r in c.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'event' "
            "AND column_name <> 'id' AND is_generated = 'NEVER'")).all()]
        c.execute(text(f"INSERT INTO event ({', '.join(cols)}) SELECT {', '.join(cols)} "
                       "FROM ev_again ORDER BY id"))
    assert links() == bulk
    with owner_db.connect() as c:  # the trigger is on again after the bulk load
        assert c.execute(text(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = 'event_duplicate_detect'")
        ).scalar_one() == "O"
