"""Unit redraws (``wangge etl units --commit``) activate through the one activation path."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from sqlalchemy import Engine, text
from support.etl import boxes
from typer.testing import CliRunner

from etl import buildings as bld
from etl import draw
from etl.common import Report
from etl.units import DrawParams
from gis.intake import catalogue
from gis.intake.events import Report as EventReport
from gis.intake.events import ingest
from gis.territory.locator import Locator
from wangge.cli import app

STATE = ("SELECT md5(string_agg(concat_ws(',', id, generation_id, grid_id, unit_id, grid_code, "
         "unit_code, worker_id, location_status, distance_m, street_code, community_code, "
         "status), ';' ORDER BY id)) FROM event")


def _district(engine: Engine) -> list[str]:
    """24 buildings in two rows drawn into two grids of units of 1-3; returns the grid codes."""
    g = boxes(12)
    g2 = boxes(12, lat=31.3065)
    g2["bid"] = [f"C{i}" for i in range(12)]
    both = gpd.GeoDataFrame(gpd.pd.concat([g, g2], ignore_index=True), crs=4326)
    bld.load_frame(engine, bld.prepare(both, Report("b", "x"), id_field="bid"), "t",
                   Report("b", "x"))
    draw.draw_district(engine, "320508", "T", params=DrawParams(grid_max_buildings=12),
                       commit=True)
    with engine.connect() as c:
        return c.execute(text("SELECT code FROM grid g JOIN generation n ON n.id = "
                              "g.generation_id AND n.status = 'active' ORDER BY code")
                         ).scalars().all()


def _events_at_buildings(engine: Engine) -> int:
    """One open event at every building's point; returns how many."""
    with engine.connect() as c:
        it = sorted(catalogue.active_items(c))[0]
        pts = c.execute(text("SELECT ST_X(point), ST_Y(point) FROM building ORDER BY id")).all()
    ingest(engine, Locator(engine), [EventReport(item=it, lon=x, lat=y) for x, y in pts])
    return len(pts)


def _stale(engine: Engine) -> list[tuple]:
    """Open events whose unit / grid code differs from the locator's answer for their point."""
    snap = Locator(engine).refresh(force=True)
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, ST_X(geom), ST_Y(geom), grid_code, unit_code "
                              "FROM event ORDER BY id")).all()
    g, u, _d = snap.locate_many(np.array([r[1] for r in rows]), np.array([r[2] for r in rows]),
                                with_outside=False)
    out = []
    for r, gi, ui in zip(rows, g, u, strict=True):
        want = (snap.grid_codes[gi] if gi >= 0 else None, snap.unit_codes[ui] if ui >= 0
                else None)
        if (r[3], r[4]) != want:
            out.append((r[0], (r[3], r[4]), want))
    return out


def test_unit_redraw_relocates_events_and_rolls_back_exactly(clean_db, settings,
                                                             monkeypatch) -> None:
    grids = _district(clean_db)
    n = _events_at_buildings(clean_db)
    with clean_db.connect() as c:
        before = c.execute(text(STATE)).scalar_one()
        gen1 = c.execute(text("SELECT id FROM generation WHERE status = 'active'")).scalar_one()
        units_before = dict(c.execute(text("SELECT id, unit_code FROM event")).all())
    assert n == 24 and not _stale(clean_db)

    # one unit per building in the first grid: most of its buildings get another unit
    out = draw.redraw_units(clean_db, [grids[0]], DrawParams(unit_max_buildings=1),
                            commit=True, regroup=True, actor="cli")
    assert not _stale(clean_db), "open events kept stale unit codes after the redraw"
    gen2 = out["generation"]
    assert gen2 != gen1 and out["activation"]["previous"] == gen1
    with clean_db.connect() as c:
        act = c.execute(text("SELECT kind, previous_id, actor, events_moved FROM "
                             "boundary_activation WHERE generation_id = :g"),
                        {"g": gen2}).one()
        moved = dict(c.execute(text("SELECT id, unit_code FROM event")).all())
        hist = c.execute(text("SELECT count(*) FROM event_history WHERE action = 'reassigned' "
                              "AND (data->>'activation')::int = :a"),
                         {"a": out["activation"]["activation"]}).scalar_one()
    changed = [k for k in moved if moved[k] != units_before[k]]
    assert act.kind == "activate" and act.previous_id == gen1 and act.actor == "cli"
    assert changed and act.events_moved == len(changed) == hist

    # `wangge boundaries rollback --commit` undoes it exactly
    monkeypatch.delenv("WANGGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    res = CliRunner().invoke(app, ["boundaries", "rollback", "--commit"])
    assert res.exit_code == 0, res.output
    with clean_db.connect() as c:
        assert c.execute(text("SELECT id FROM generation WHERE status = 'active'")
                         ).scalar_one() == gen1
        assert c.execute(text(STATE)).scalar_one() == before
    assert not _stale(clean_db)


def test_etl_units_cli_commit_writes_an_activation(clean_db, settings, monkeypatch) -> None:
    grids = _district(clean_db)
    monkeypatch.delenv("WANGGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    res = CliRunner().invoke(app, ["etl", "units", "--grid", grids[1], "--regroup", "--commit"])
    assert res.exit_code == 0, res.output
    with clean_db.connect() as c:
        active = c.execute(text("SELECT id FROM generation WHERE status = 'active'")).scalar_one()
        row = c.execute(text("SELECT kind, actor FROM boundary_activation "
                             "WHERE generation_id = :g"), {"g": active}).one()
    assert row.kind == "activate" and row.actor == "cli"
    back = CliRunner().invoke(app, ["boundaries", "rollback", "--commit"])
    assert back.exit_code == 0, back.output
