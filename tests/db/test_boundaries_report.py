"""The readable report: problems grouped by check, errors first, consequences folded under
their cause, slivers in one line; event moves split by kind; generations counted by codes."""

from __future__ import annotations

import random
from pathlib import Path

import shapely
from shapely.geometry import box, mapping, shape
from sqlalchemy import Engine, text
from support.boundary_files import G1, G2, G3, UNITS, X0, Y0, C, D, territory, write
from typer.testing import CliRunner

from boundaries.core import run_import, table
from gis.intake import catalogue
from gis.intake.events import Report, ingest
from gis.territory.locator import Locator
from wangge.cli import app


def _write(tmp_path: Path, feats: list[dict], name: str) -> Path:
    """A FeatureCollection file in ``tmp_path``."""
    return write(tmp_path / name, feats)


def _faulty(tmp_path: Path) -> Path:
    """Grid 1 renamed to …009 (its 12 units still name …001), grid 3 grown 10 m into grid 2
    (an overlap), and two units of grid 2 with a ~1 m² sliver part each."""
    feats = territory((C + "009", G2, G3))
    for f in feats:
        code = f["properties"]["code"]
        g = shape(f["geometry"])
        if code == G3:
            f["geometry"] = mapping(box(X0 + 1.9 * D, Y0, X0 + 3 * D, Y0 + D))
        if code in (G2 + "001", G2 + "005"):
            x, y = g.bounds[0] + D / UNITS / 2, Y0 + D / 2
            dot = box(x, y, x + 1e-5, y + 1e-5)
            f["geometry"] = mapping(shapely.MultiPolygon(
                [g.difference(dot.buffer(2e-6, join_style="mitre")), dot]))
    return _write(tmp_path, feats, "faulty.geojson")


def test_faults_are_grouped_by_check_with_consequences_under_their_cause(
        clean_db: Engine, tmp_path: Path) -> None:
    """A renamed grid, an overlap and slivers: one line for the rename carrying its 12
    missing_parent units, errors before warnings, slivers summarised in one line."""
    ok = run_import(clean_db, _write(tmp_path, territory(), "ok.geojson"), commit=True)
    assert ok.exit_code == 0, ok.report["groups"]
    res = run_import(clean_db, _faulty(tmp_path))
    assert res.exit_code == 1
    groups = res.report["groups"]
    by = {g["check"]: g for g in groups}
    # every missing_parent row is a consequence of the rename: no group of its own
    assert "missing_parent" not in by
    assert sum(p["check"] == "missing_parent" for p in res.report["problems"]) == UNITS
    rename = by["renamed_code"]
    assert rename["count"] == 1 and rename["folded"] == UNITS
    item = rename["items"][0]
    assert item["code"] == G1 and item["consequences"] == {"missing_parent": UNITS}
    assert item["message"].startswith(f"网格 {G1} 在文件中改为编码 {C}009")
    assert "parent_code" in item["message"]
    assert by["overlap"]["count"] == 1 and by["overlap"]["severity"] == "error"
    assert {G2, G3} <= set(by["overlap"]["items"][0]["message"].split())
    sl = by["sliver"]
    assert sl["severity"] == "warning" and sl["count"] == 2 and sl["items"] == []
    assert sl["summary"].startswith("2 处碎片面") and G2 + "001" in sl["summary"]
    sev = [g["severity"] for g in groups]
    assert sev == sorted(sev, key=["error", "warning", "repaired", "info"].index)
    assert groups[0]["check"] == "renamed_code"
    out = table(res.report)
    lines = out.splitlines()
    rename_line = next(ln for ln in lines if "在文件中改为编码" in ln)
    assert rename_line.endswith(f"← {UNITS} × missing_parent")
    assert sum("missing_parent" in ln for ln in lines) == 1
    assert sum("sliver" in ln for ln in lines) == 1
    assert lines.index(rename_line) < next(i for i, ln in enumerate(lines) if "sliver" in ln)


def test_units_moved_under_a_renamed_grid_but_keeping_their_codes_fold_under_the_rename(
        clean_db: Engine, tmp_path: Path) -> None:
    """Grid 1 renamed and its units' parent_code changed too, but not their codes: the 12
    code_parent_mismatch rows become one renamed_code line."""
    run_import(clean_db, _write(tmp_path, territory(), "ok.geojson"), commit=True)
    feats = territory((C + "009", G2, G3))
    for f in feats:
        if f["properties"]["parent_code"] == G1:
            f["properties"]["parent_code"] = C + "009"
    res = run_import(clean_db, _write(tmp_path, feats, "reparented.geojson"))
    assert res.exit_code == 1
    by = {g["check"]: g for g in res.report["groups"]}
    assert "code_parent_mismatch" not in by and "missing_parent" not in by
    item = by["renamed_code"]["items"][0]
    assert item["code"] == G1 and item["consequences"] == {"code_parent_mismatch": UNITS}
    assert f"{UNITS} 个单元的编码仍以 {G1} 开头" in item["message"]


def test_a_renamed_community_folds_the_grids_it_would_orphan(
        clean_db: Engine, tmp_path: Path) -> None:
    """A file of the upper levels whose community got another code: the active grids (kept)
    would lose their community; one renamed_code line carries the 3 orphans."""
    run_import(clean_db, _write(tmp_path, territory(), "ok.geojson"), commit=True)
    feats = [f for f in territory() if f["properties"]["level"] in ("district", "street",
                                                                        "community")]
    feats[-1]["properties"]["code"] = "320508001002"
    res = run_import(clean_db, _write(tmp_path, feats, "renamed-community.geojson"))
    assert res.exit_code == 1
    by = {g["check"]: g for g in res.report["groups"]}
    assert "orphan" not in by and by["renamed_code"]["count"] == 1
    item = by["renamed_code"]["items"][0]
    assert item["code"] == C and item["consequences"] == {"orphan": 3}
    assert item["message"].startswith(f"社区 {C} 在文件中改为编码 320508001002：3 个网格")


def _events(engine: Engine, n: int = 200, seed: int = 3) -> None:
    """Open events at random points of the three grids."""
    rnd = random.Random(seed)
    with engine.connect() as c:
        it = sorted(catalogue.active_items(c))[0]
    ingest(engine, Locator(engine), [Report(item=it, lon=rnd.uniform(X0, X0 + 3 * D),
                                            lat=rnd.uniform(Y0, Y0 + D)) for _ in range(n)])


def _moved_edge(tmp_path: Path) -> Path:
    """Grids and units with the grid 1 | grid 2 edge moved two unit widths east (the first two
    units of grid 2 pass to grid 1), and grid 3's first two units merged."""
    feats = territory()
    w = D / UNITS
    out = []
    for f in feats:
        p = f["properties"]
        if p["code"] == G1:
            f["geometry"] = mapping(box(X0, Y0, X0 + D + 2 * w, Y0 + D))
        elif p["code"] == G2:
            f["geometry"] = mapping(box(X0 + D + 2 * w, Y0, X0 + 2 * D, Y0 + D))
        elif p["code"] in (G2 + "001", G2 + "002"):
            k = int(p["code"][-3:])
            p["code"], p["parent_code"] = f"{G1}{UNITS + k:03d}", G1
        elif p["code"] == G3 + "001":
            f["geometry"] = mapping(box(X0 + 2 * D, Y0, X0 + 2 * D + 2 * w, Y0 + D))
        elif p["code"] == G3 + "002":
            continue
        out.append(f)
    return _write(tmp_path, out, "moved.geojson")


def test_preview_counts_grid_changes_apart_from_unit_only_changes(
        clean_db: Engine, tmp_path: Path) -> None:
    """Events passing from grid 2 to grid 1 are counted as changing grid; those of the merged
    units of grid 3 as unit-only changes; nothing as a worker-only change."""
    run_import(clean_db, _write(tmp_path, territory(), "ok.geojson"), commit=True)
    _events(clean_db)
    w = D / UNITS
    with clean_db.connect() as c:
        crossing = c.execute(text(
            "SELECT count(*) FROM event WHERE grid_code = :g AND ST_X(geom) < :x"),
            {"g": G2, "x": X0 + D + 2 * w}).scalar_one()
        merged = c.execute(text("SELECT count(*) FROM event WHERE unit_code = :u"),
                           {"u": G3 + "002"}).scalar_one()
    assert crossing and merged
    res = run_import(clean_db, _moved_edge(tmp_path))
    assert res.exit_code == 0, res.report["groups"]
    tot = res.report["preview"]["totals"]
    assert tot["events_changing_grid"] == crossing
    assert tot["events_unit_only"] == merged and tot["events_worker_only"] == 0
    assert tot["events_moving"] == crossing + merged
    assert f"{crossing} 件换网格 change grid" in table(res.report)


def test_list_counts_open_events_by_their_current_codes(clean_db: Engine, tmp_path: Path,
                                                         monkeypatch) -> None:
    """After an import that moves a few events, the new active generation counts every open
    event of its grids (not only the moved ones, which alone point at its rows)."""
    run_import(clean_db, _write(tmp_path, territory(), "ok.geojson"), commit=True)
    _events(clean_db)
    res = run_import(clean_db, _moved_edge(tmp_path), commit=True)
    assert res.report["committed"]
    with clean_db.connect() as c:
        located_here = c.execute(text(
            "SELECT count(*) FROM event WHERE generation_id = :g"),
            {"g": res.report["generation"]}).scalar_one()
    assert 0 < located_here < 200
    monkeypatch.setenv("DATABASE_URL", clean_db.url.render_as_string(hide_password=False)
                       .replace("+psycopg2", ""))
    r = CliRunner().invoke(app, ["boundaries", "list"])
    assert r.exit_code == 0, r.output
    rows = [ln.split() for ln in r.output.splitlines() if ln.split()[:1] in (["1"], ["2"])]
    by_status = {row[1]: int(row[7]) for row in rows if row[1] in ("active", "retired")}
    assert by_status == {"retired": 200, "active": 200}
    assert "当前编码" in r.output


def test_a_clean_file_reports_only_the_building_note(clean_db: Engine, tmp_path: Path) -> None:
    """A clean file has no group but the note that no buildings are loaded."""
    res = run_import(clean_db, _write(tmp_path, territory(), "ok.geojson"))
    assert [g["check"] for g in res.report["groups"]] == ["buildings"]
    assert "0 项阻止导入 blocking" in table(res.report)
