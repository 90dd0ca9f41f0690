"""The ``wangge`` CLI: locate, db upgrade, catalogue load."""

from __future__ import annotations

import json

import support.territory as T
from sqlalchemy import text

from gis.geo.datum import Datum, from_wgs84
from gis.intake import catalogue

KEYS = {"lon", "lat", "status", "grid", "unit", "community", "street", "worker"}


def one_json(output: str) -> dict:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1, output
    return json.loads(lines[0])


def test_locate_prints_one_json_object(cli):
    r = cli("locate", 120.602, 31.302)
    assert r.exit_code == 0, r.output
    d = one_json(r.stdout)
    assert KEYS <= d.keys()
    assert (d["status"], d["grid"], d["unit"], d["community"], d["street"], d["worker"]) == (
        "inside", T.G1, T.U1A, T.C, T.S, "W1")
    assert (d["lon"], d["lat"]) == (120.602, 31.302)


def test_locate_crs_and_statuses(cli):
    x, y = from_wgs84(120.602, 31.302, Datum.GCJ02)
    d = one_json(cli("locate", x, y, "--crs", "gcj02").stdout)
    assert d["unit"] == T.U1A and abs(d["lon"] - 120.602) < 1e-8 and abs(d["lat"] - 31.302) < 1e-8
    x, y = from_wgs84(120.602, 31.302, Datum.BD09)
    assert one_json(cli("locate", x, y, "--crs", "bd09").stdout)["unit"] == T.U1A
    assert one_json(cli("locate", 120.602, 31.302, "--crs", "cgcs2000").stdout)["unit"] == T.U1A
    d = one_json(cli("locate", 120.5995, 31.305).stdout)
    assert (d["status"], d["grid"]) == ("outside", T.G1)
    d = one_json(cli("locate", 121.5, 31.3).stdout)
    assert (d["status"], d["grid"], d["worker"]) == ("unassigned", None, None)
    d = one_json(cli("locate", 120.617, 31.307).stdout)
    assert (d["unit"], d["worker"]) == (None, "L1")


def test_locate_errors(cli):
    r = cli("locate", 120.6, 31.3, "--crs", "mars")
    assert r.exit_code == 2
    err = json.loads(r.stderr)["error"]
    assert err["code"] == "unknown_datum" and err["details"][0]["field"] == "crs"
    r = cli("locate", 31.305, 120.602)
    assert r.exit_code == 2 and json.loads(r.stderr)["error"]["code"] == "swapped_coordinates"
    r = cli("locate", 120.6, 95)
    assert r.exit_code == 2 and json.loads(r.stderr)["error"]["code"] == "out_of_range"
    r = cli("locate", "abc", 31.3)
    assert r.exit_code != 0


def test_db_upgrade_is_idempotent(cli, engine):
    from gis.db import migrate

    head = migrate.current(engine)
    r = cli("db", "upgrade")
    assert r.exit_code == 0, r.output
    assert f"database at revision {head}" in r.stdout
    assert migrate.current(engine) == head


def test_catalogue_load_preview_then_commit(cli, engine, tmp_path):
    src = catalogue.default_path().read_text(encoding="utf-8")
    extra = src + (
        '\n[[class]]\ncode = "env"\nname = "Environment"\nname_zh = "环境"\nitems = [\n'
        '  { code = "env.noise", name = "Night-time noise", default_level = "grid", '
        'time_limit_h = 24 },\n]\n')
    f = tmp_path / "catalogue.toml"
    f.write_text(extra, encoding="utf-8")

    def items() -> set[str]:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(text("SELECT code FROM event_item WHERE active"))}

    before = items()
    assert "env.noise" not in before
    try:
        r = cli("catalogue", "load", f)
        assert r.exit_code == 0, r.output
        d = json.loads(r.stdout.splitlines()[0])
        assert d["committed"] is False and d["new_items"] == 1 and d["deactivated"] == 0
        assert "--commit" in r.stderr
        assert items() == before                      # preview wrote nothing
        r = cli("catalogue", "load", f, "--commit")
        assert r.exit_code == 0, r.output
        d = json.loads(r.stdout.splitlines()[0])
        assert d["committed"] is True and d["new_items"] == 1
        assert items() == before | {"env.noise"}
        with engine.connect() as conn:
            row = conn.execute(text("SELECT class_code, time_limit_h FROM event_item "
                                    "WHERE code = 'env.noise'")).one()
        assert (row.class_code, row.time_limit_h) == ("env", 24.0)
        # a broken file is refused with the reason, nothing written
        bad = tmp_path / "bad.toml"
        bad.write_text('[[class]]\ncode = "x"\n', encoding="utf-8")
        r = cli("catalogue", "load", bad, "--commit")
        assert r.exit_code == 1
        assert json.loads(r.stderr)["error"]["code"] == "bad_catalogue"
    finally:
        with engine.begin() as conn:
            catalogue.load(conn)
    assert items() == before
