"""``wangge boundaries``: the grouped report of a faulty file, a grids-only edit that re-cuts
units (preview, --commit, list, rollback)."""

from __future__ import annotations

import json
import re

import shapely
import support.territory as T
from shapely.geometry import box, mapping, shape
from sqlalchemy import text
from support.boundary_files import G1, G2, UNITS, X0, Y0, C, D, territory, write

W = D / UNITS
# buildings: two in G1's first units, one in G2's first unit (passes to G1 when the edge
# moves two unit widths east), one further in G2
BUILDINGS = [(X0 + 0.5 * W, 0.5), (X0 + 1.5 * W, 0.5), (X0 + D + 0.5 * W, 0.3),
             (X0 + D + 5.5 * W, 0.5)]


def _start(cli, clean_db, tmp_path) -> None:
    """The strip territory imported and active, with four buildings."""
    r = cli("boundaries", "import", write(tmp_path / "t.geojson", territory()), "--commit")
    assert r.exit_code == 0, r.output
    for k, (x, fy) in enumerate(BUILDINGS):
        T.insert_building(clean_db, f"b{k}", None, x, Y0 + fy * D, d=W / 4)


def _unit_of(clean_db, k: int) -> list[str]:
    """The active units holding building ``b{k}``'s point."""
    with clean_db.connect() as c:
        return c.execute(text(
            "SELECT u.code FROM unit u JOIN generation g ON g.id = u.generation_id AND "
            "g.status = 'active' JOIN building b ON ST_Intersects(u.geom, b.point) "
            "WHERE b.source_id = :s ORDER BY 1"), {"s": f"b{k}"}).scalars().all()


def test_faulty_file_table_lists_checks_errors_first_with_causes(cli, clean_db,
                                                                 tmp_path) -> None:
    """Exit 1; one heading per check, errors first: the rename (its 12 units folded in as
    missing_parent) before the overlap, the warnings after; the outcome line last."""
    _start(cli, clean_db, tmp_path)
    feats = territory((C + "009", G2, "320508001001003"))
    feats = [f for f in feats if f["properties"]["code"] != G2 + "001"]  # b2 in no unit
    for f in feats:
        if f["properties"]["code"] == "320508001001003":
            f["geometry"] = mapping(box(X0 + 1.9 * D, Y0, X0 + 3 * D, Y0 + D))
    r = cli("boundaries", "import", write(tmp_path / "bad.geojson", feats))
    assert r.exit_code == 1, r.output
    lines = r.output.splitlines()
    heads = [re.search(r" (\w+) ×\d+", ln).group(1) for ln in lines if ln.startswith("  [")]
    assert heads[:2] == ["renamed_code", "overlap"], r.output
    assert heads.index("building_without_unit") > heads.index("overlap")
    assert f"← {UNITS} × missing_parent" in r.output
    assert not any(" missing_parent ×" in ln for ln in lines)
    assert lines[-1].startswith("已阻止") and "BLOCKED" in lines[-1]


def test_grids_only_edit_recuts_units_then_commit_list_rollback(cli, clean_db,
                                                                tmp_path) -> None:
    """Moving the G1 | G2 edge two unit widths east in a grids-only file: the preview names
    the new unit of G1 (the building passing over) and G2's unit losing it, and writes the
    re-cut units as GeoJSON beside the report; --commit puts
    the building in that new unit; list shows both generations; rollback restores."""
    _start(cli, clean_db, tmp_path)
    assert _unit_of(clean_db, 2) == [G2 + "001"]
    feats = [f for f in territory() if f["properties"]["level"] == "grid"]
    for f in feats:
        if f["properties"]["code"] == G1:
            f["geometry"] = mapping(box(X0, Y0, X0 + D + 2 * W, Y0 + D))
        elif f["properties"]["code"] == G2:
            f["geometry"] = mapping(box(X0 + D + 2 * W, Y0, X0 + 2 * D, Y0 + D))
    path = write(tmp_path / "grids.geojson", feats)
    r = cli("boundaries", "import", path, "--json", "--report", tmp_path / "rep.json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    shapes = json.loads((tmp_path / "rep.recut.geojson").read_text())["features"]
    new = next(f for f in shapes if f["properties"]["code"] == G1 + f"{UNITS + 1:03d}")
    assert new["properties"]["change"] == "new" and new["properties"]["grid"] == G1
    assert {f["properties"]["grid"] for f in shapes} == {G1, G2}
    assert sorted(rep["recut"]["grids"]) == [G1, G2]
    changes = {(u["code"], u["change"], u["buildings"]) for u in rep["recut"]["units"]}
    assert (G1 + f"{UNITS + 1:03d}", "new", 1) in changes
    assert (G2 + "001", "retired", 0) in changes or (G2 + "001", "changed", 1) in changes
    r = cli("boundaries", "import", path, "--commit")
    assert r.exit_code == 0 and "重新划分单元" in r.output and "ACTIVATED" in r.output, r.output
    assert _unit_of(clean_db, 2) == [G1 + f"{UNITS + 1:03d}"]
    assert _unit_of(clean_db, 0) == [G1 + "001"] and _unit_of(clean_db, 1) == [G1 + "002"]
    assert len(_unit_of(clean_db, 3)) == 1 and _unit_of(clean_db, 3)[0].startswith(G2)
    r = cli("boundaries", "list")
    assert [ln.split()[1] for ln in r.output.splitlines()[2:]] == ["retired", "retired",
                                                                    "active"], r.output
    r = cli("boundaries", "rollback", "--commit")
    assert r.exit_code == 0, r.output
    assert _unit_of(clean_db, 2) == [G2 + "001"]


def test_a_whole_territory_saved_again_with_fewer_decimals_still_recuts(cli, clean_db,
                                                                        tmp_path) -> None:
    """Every level in the file, coordinates snapped to 1e-7° as a desktop GIS may save them,
    one grid edge moved: the units (unchanged but for the rounding) are re-cut, not refused."""
    _start(cli, clean_db, tmp_path)
    feats = territory()
    for f in feats:
        if f["properties"]["code"] == G1:
            f["geometry"] = mapping(box(X0, Y0, X0 + D + 2 * W, Y0 + D))
        elif f["properties"]["code"] == G2:
            f["geometry"] = mapping(box(X0 + D + 2 * W, Y0, X0 + 2 * D, Y0 + D))
        f["geometry"] = mapping(shapely.set_precision(shape(f["geometry"]), 1e-7))
    r = cli("boundaries", "import", write(tmp_path / "all.geojson", feats), "--json")
    assert r.exit_code == 0, r.output
    assert sorted(json.loads(r.output)["recut"]["grids"]) == [G1, G2]


def test_merging_two_grids_in_a_grids_only_file_retires_the_dropped_grids_units(
        cli, clean_db, tmp_path) -> None:
    """G1 takes in G2, which the file drops: G2's units retire (listed), G1 is re-cut with
    G2's buildings; nothing is orphaned; --commit puts every building in a unit of G1."""
    _start(cli, clean_db, tmp_path)
    feats = [f for f in territory() if f["properties"]["level"] == "grid"
             and f["properties"]["code"] != G2]
    feats[0]["geometry"] = mapping(box(X0, Y0, X0 + 2 * D, Y0 + D))
    path = write(tmp_path / "merged.geojson", feats)
    r = cli("boundaries", "import", path, "--json")
    assert r.exit_code == 0, r.output
    rc = json.loads(r.output)["recut"]
    assert rc["grids"] == [G1]
    retired = {u["code"] for u in rc["units"] if u["grid"] == G2}
    assert retired == {f"{G2}{k + 1:03d}" for k in range(UNITS)}
    assert all(u["change"] == "retired" for u in rc["units"] if u["grid"] == G2)
    r = cli("boundaries", "import", path, "--commit")
    assert r.exit_code == 0 and f"  {G2}: -{G2}001(0)" in r.output, r.output
    assert all(_unit_of(clean_db, k)[0].startswith(G1) and len(_unit_of(clean_db, k)) == 1
               for k in range(len(BUILDINGS)))


def test_a_draft_opened_edited_and_imported_from_the_command_line(cli, clean_db,
                                                                  tmp_path) -> None:
    """`boundaries draft` copies the active boundaries; a renamed grid in the draft is
    previewed by `import-draft` and activated by `import-draft --commit`; a second draft
    waits until the first was imported."""
    _start(cli, clean_db, tmp_path)
    r = cli("boundaries", "draft")
    assert r.exit_code == 0 and "draft_grids" in r.output, r.output
    assert cli("boundaries", "draft").exit_code != 0  # one open draft at a time
    with clean_db.begin() as c:
        c.execute(text("UPDATE grid SET name = '改名网格' WHERE code = :g AND generation_id = "
                       "(SELECT max(id) FROM generation WHERE status = 'draft')"), {"g": G1})
    r = cli("boundaries", "import-draft", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["committed"] is False
    r = cli("boundaries", "import-draft", "--commit", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["committed"] is True, r.output
    with clean_db.connect() as c:
        assert c.execute(text(
            "SELECT name FROM grid g JOIN generation n ON n.id = g.generation_id AND "
            "n.status = 'active' WHERE g.code = :g"), {"g": G1}).scalar() == "改名网格"
    assert cli("boundaries", "import-draft").exit_code != 0  # nothing open any more
