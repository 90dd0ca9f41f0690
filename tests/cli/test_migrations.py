"""Migrations from an empty database up to head, down to base and up again; the checks hold."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from support.scratchdb import scratch_database

from gis.db import migrate

CORE_TABLES = {"generation", "area", "territory_state", "district", "street", "community", "grid",
               "unit", "area_piece", "building", "worker", "grid_role", "camera", "event_class",
               "event_item", "event", "event_history", "idempotency_key", "patrol_track"}


@pytest.fixture()
def scratch(settings):
    """An empty database of its own; dropped afterwards."""
    with scratch_database(settings, "mig") as eng:
        yield eng


def tables(engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))}


def functions(engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(text(
            "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND proname IN ('territory_touch', 'area_piece_sync')"))}


def test_up_down_up(scratch):
    assert migrate.current(scratch) is None
    assert not (tables(scratch) & CORE_TABLES)
    migrate.upgrade(scratch)
    head = migrate.current(scratch)
    assert head is not None
    assert CORE_TABLES <= tables(scratch)
    assert functions(scratch) == {"territory_touch", "area_piece_sync"}
    with scratch.connect() as conn:
        assert conn.execute(text("SELECT revision FROM territory_state")).scalar_one() == 0
        idx = {r[0] for r in conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE indexdef ILIKE '%USING gist%'"))}
    assert {"grid_geom_gist", "unit_geom_gist", "event_geom_gist", "area_piece_geom_gist",
            "building_geom_gist", "patrol_track_geom_gist"} <= idx
    migrate.downgrade(scratch, "base")
    assert migrate.current(scratch) is None
    assert not (tables(scratch) & CORE_TABLES), tables(scratch) & CORE_TABLES
    left = tables(scratch) - {"alembic_version", "spatial_ref_sys"}
    assert not left, f"left behind after downgrade: {left}"
    assert functions(scratch) == set()
    migrate.upgrade(scratch)
    assert migrate.current(scratch) == head and CORE_TABLES <= tables(scratch)
    # one step down and up again from head (the newest migration is reversible on its own)
    migrate.downgrade(scratch, "-1")
    assert migrate.current(scratch) != head
    migrate.upgrade(scratch)
    assert migrate.current(scratch) == head


def test_cli_db_upgrade_on_empty_database(scratch, monkeypatch):
    from typer.testing import CliRunner

    from wangge.cli import app

    url = scratch.url.render_as_string(hide_password=False).replace("+psycopg2", "")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("WANGGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("WANGGE_OWNER_DATABASE_URL", raising=False)  # one role for everything
    r = CliRunner().invoke(app, ["db", "upgrade"])
    assert r.exit_code == 0, r.output
    assert "database at revision" in r.output
    assert CORE_TABLES <= tables(scratch)
    r = CliRunner().invoke(app, ["db", "current"])
    assert r.exit_code == 0 and r.output.strip() == migrate.current(scratch)
    r = CliRunner().invoke(app, ["db", "downgrade"])
    assert r.exit_code == 1 and CORE_TABLES <= tables(scratch)          # needs --yes
    r = CliRunner().invoke(app, ["db", "downgrade", "--yes"])
    assert r.exit_code == 0 and not (tables(scratch) & CORE_TABLES)


# -- constraints ----------------------------------------------------------------------------

BOWTIE = "MULTIPOLYGON(((120.60 31.30, 120.61 31.31, 120.61 31.30, 120.60 31.31, 120.60 31.30)))"
SQUARE = "MULTIPOLYGON(((120.60 31.30, 120.61 31.30, 120.61 31.31, 120.60 31.31, 120.60 31.30)))"
FAR = "MULTIPOLYGON(((200 31.30, 201 31.30, 201 31.31, 200 31.31, 200 31.30)))"


def _base(conn) -> int:
    gen = conn.execute(text("INSERT INTO generation (description) VALUES ('t') RETURNING id")
                       ).scalar_one()
    conn.execute(text("INSERT INTO area (code, level) VALUES ('320508', 'district'), "
                      "('320508001', 'street'), ('320508001001', 'community'), "
                      "('320508001001001', 'grid'), ('320508001001002', 'grid'), "
                      "('320508001009', 'community'), ('320508001009001', 'grid')"))
    conn.execute(text("INSERT INTO district (generation_id, code, name, geom) VALUES "
                      "(:g, '320508', 'd', ST_GeomFromText(:w, 4326))"), {"g": gen, "w": SQUARE})
    conn.execute(text("INSERT INTO street (generation_id, code, name, district_code, geom) "
                      "VALUES (:g, '320508001', 's', '320508', ST_GeomFromText(:w, 4326))"),
                 {"g": gen, "w": SQUARE})
    conn.execute(text("INSERT INTO community (generation_id, code, name, street_code, geom) "
                      "VALUES (:g, '320508001001', 'c', '320508001', ST_GeomFromText(:w, 4326))"),
                 {"g": gen, "w": SQUARE})
    return gen


GRID_SQL = ("INSERT INTO grid (generation_id, code, name, community_code, kind, geom) VALUES "
            "(:g, :code, 'g', :c, :kind, ST_GeomFromText(:w, 4326))")


@pytest.mark.parametrize("over, constraint", [
    ({"w": BOWTIE}, "grid_geom_valid"),                       # self-intersecting polygon
    ({"w": FAR}, "grid_geom_range"),                          # longitude 200
    ({"code": "320508001009001", "c": "320508001009"}, "fkey"),   # community row missing
    ({"kind": "castle"}, "kind_check"),
    ({"code": "320508001009001"}, "grid_check"),              # code not under its community
])
def test_constraints_reject(engine, clean_db, over, constraint):
    with engine.connect() as conn:
        gen = _base(conn)
        good = {"g": gen, "code": "320508001001001", "c": "320508001001", "kind": "basic",
                "w": SQUARE}
        conn.execute(text(GRID_SQL), good)                    # the valid row goes in
        with pytest.raises(IntegrityError) as e:
            conn.execute(text(GRID_SQL), {**good, "code": "320508001001002", **over})
        assert constraint in str(e.value.orig), str(e.value.orig)
        conn.rollback()


def test_other_checks(engine, clean_db):
    with engine.connect() as conn:
        gen = _base(conn)
        conn.execute(text("SAVEPOINT s"))
        for sql, params, name in (
            ("INSERT INTO building (source_id, geom) VALUES ('b', ST_GeomFromText(:w, 4326))",
             {"w": BOWTIE}, "building_geom_valid"),
            ("INSERT INTO building (source_id, geom) VALUES ('b', ST_GeomFromText(:w, 4326))",
             {"w": FAR}, "building_geom_range"),
            ("INSERT INTO camera (code, geom) VALUES ('c', ST_SetSRID(ST_MakePoint(120, 95), "
             "4326))", {}, "camera_geom_range"),
            ("INSERT INTO district (generation_id, code, name, geom) VALUES (:g, '320508', 'x', "
             "ST_GeomFromText(:w, 4326))", {"g": gen, "w": BOWTIE}, "district_geom_valid"),
            ("INSERT INTO event (item_code, source, location_status, location_method) VALUES "
             "('safety.fire', 'resident', 'inside', 'none')", {}, "event_assigned"),
            ("INSERT INTO event (item_code, source, location_status, location_method) VALUES "
             "('no.such.item', 'resident', 'unassigned', 'none')", {}, "fkey"),
            ("INSERT INTO generation (status) VALUES ('active'), ('active')", {},
             "generation_one_active"),
        ):
            with pytest.raises(IntegrityError) as e:
                conn.execute(text(sql), params)
            assert name in str(e.value.orig), (name, str(e.value.orig))
            conn.execute(text("ROLLBACK TO SAVEPOINT s"))
        conn.rollback()


def test_area_pieces_and_revision_triggers(engine, clean_db):
    with engine.begin() as conn:
        rev0 = conn.execute(text("SELECT revision FROM territory_state")).scalar_one()
        gen = _base(conn)
        conn.execute(text(GRID_SQL), {"g": gen, "code": "320508001001001", "c": "320508001001",
                                      "kind": "sea_islands", "w": SQUARE})
        n = conn.execute(text("SELECT count(*) FROM area_piece WHERE code = '320508001001001'")
                         ).scalar_one()
        rev1 = conn.execute(text("SELECT revision FROM territory_state")).scalar_one()
    assert n >= 1 and rev1 > rev0
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM grid"))
        assert conn.execute(text("SELECT count(*) FROM area_piece")).scalar_one() == 0


@pytest.mark.parametrize("wkt, constraint", [
    ("MULTIPOLYGON(((179.9 31, 180 31, 180 31.1, 179.9 31)))", None),   # on the limits: fine
    ("MULTIPOLYGON(((-180 -90, -179.9 -90, -179.9 -89.9, -180 -90)))", None),
    ("MULTIPOLYGON(((179.9 31, 180.000000001 31, 180 31.1, 179.9 31)))", "building_geom_range"),
    ("MULTIPOLYGON(((0 -90.0000001, 1 -90, 1 -89, 0 -90.0000001)))", "building_geom_range"),
    ("MULTIPOLYGON EMPTY", "building_geom_valid"),
])
def test_building_range_check_on_the_bbox(engine, clean_db, wkt, constraint):
    """The bounding-box range CHECK (migration 0005) answers as the coordinates would, to the
    last bit past ±180 / ±90; an empty geometry is the validity CHECK's to refuse."""
    sql = "INSERT INTO building (source_id, geom) VALUES ('b', ST_GeomFromText(:w, 4326))"
    with engine.connect() as conn:
        if constraint is None:
            conn.execute(text(sql), {"w": wkt})
        else:
            with pytest.raises(IntegrityError) as e:
                conn.execute(text(sql), {"w": wkt})
            assert constraint in str(e.value.orig), str(e.value.orig)
        conn.rollback()
