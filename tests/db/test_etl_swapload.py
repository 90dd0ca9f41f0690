"""The parallel first load into an empty building table (etl.swapload): same rows, same table."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import text
from support.etl import LAT, LON, boxes, count

from etl import buildings as bld
from etl import swapload
from etl.common import Report

CATALOG = {
    "columns": "SELECT attname, format_type(atttypid, atttypmod), attnotnull, attgenerated, "
               "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a LEFT JOIN pg_attrdef d "
               "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = "
               "'building'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY attnum",
    "constraints": "SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
                   "WHERE conrelid = 'building'::regclass ORDER BY conname",
    "indexes": "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index i JOIN pg_class c "
               "ON c.oid = i.indexrelid WHERE i.indrelid = 'building'::regclass ORDER BY 1",
    "references": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), "
                  "convalidated FROM pg_constraint WHERE confrelid = 'building'::regclass",
    "sequence": "SELECT pg_get_serial_sequence('building', 'id')",
    "shadows": "SELECT relname FROM pg_class WHERE relname LIKE 'building_bulk_load%'",
}


def catalog(engine) -> dict[str, list]:
    """What the database says about the building table (not its oid)."""
    with engine.connect() as c:
        return {k: [tuple(r) for r in c.execute(text(s))] for k, s in CATALOG.items()}


def oid(engine) -> int:
    """The building table's oid (a swap makes a new table)."""
    with engine.connect() as c:
        return c.execute(text("SELECT 'building'::regclass::oid::bigint")).scalar_one()


def frame(n: int) -> gpd.GeoDataFrame:
    """n buildings, one of them a MultiPolygon, with varied attributes and properties."""
    g = boxes(n)
    g["note"] = [f'n"{i}\t\\' if i % 4 else None for i in range(n)]
    g["rank"] = [i if i % 5 else None for i in range(n)]
    g.loc[1, "geometry"] = shapely.MultiPolygon([
        shapely.box(LON, LAT + 0.01, LON + 0.0001, LAT + 0.0101),
        shapely.box(LON + 0.0002, LAT + 0.01, LON + 0.0003, LAT + 0.0101)])
    g.loc[2, "floors"] = None
    return g


def stored(engine) -> dict[str, tuple]:
    """Every stored building by source id, with what matters of it."""
    with engine.connect() as c:
        return {r.source_id: tuple(r)[1:] for r in c.execute(text(
            "SELECT source_id, name, floors, properties, ST_AsEWKT(geom), "
            "ST_Equals(point, ST_PointOnSurface(geom)) FROM building"))}


def load(engine, g: gpd.GeoDataFrame, commit: bool = True) -> Report:
    """prepare + load_frame."""
    r = Report("buildings", "x")
    return bld.load_frame(engine, bld.prepare(g, r, id_field="bid"), "s", r, commit=commit)


def test_first_load_through_the_shadow_table_equals_the_one_connection_load(
        owner_db, engine, monkeypatch) -> None:
    """The swap path stores exactly what the one-connection path stores, the table keeps its
    columns, constraints, index names and the foreign key pointing at it, and a reload and a
    later load take the ordinary path."""
    g = frame(60)
    before, first_oid = catalog(owner_db), oid(owner_db)
    assert load(owner_db, g).inserted == 60  # below the threshold: one connection
    assert oid(owner_db) == first_oid
    plain = stored(owner_db)
    assert plain["B1"][3].startswith("SRID=4326;MULTIPOLYGON") and plain["B2"][1] is None
    assert all(v[3].startswith("SRID=4326;MULTIPOLYGON") and v[4] for v in plain.values())

    with owner_db.begin() as c:
        c.execute(text("TRUNCATE building CASCADE"))
    monkeypatch.setattr(swapload, "SWAP_MIN_ROWS", 10)
    monkeypatch.setattr(bld, "COPY_CHUNK_ROWS", 7)  # several chunks per stream
    assert load(owner_db, g, commit=False).inserted == 60  # a preview never swaps
    assert oid(owner_db) == first_oid and count(owner_db) == 0
    r = load(owner_db, g)
    assert (r.inserted, r.updated, r.unchanged) == (60, 0, 0)
    assert oid(owner_db) != first_oid  # the shadow table became building
    with engine.connect() as c:  # the platform's role keeps its rights on the new table
        assert c.execute(text("SELECT count(*) FROM building")).scalar_one() == 60
    assert catalog(owner_db) == before
    assert stored(owner_db) == plain

    swapped = oid(owner_db)
    r = load(owner_db, g)  # a reload changes nothing and keeps the table
    assert (r.inserted, r.updated, r.unchanged) == (0, 0, 60) and oid(owner_db) == swapped
    more = boxes(20, lat=LAT + 0.003).assign(bid=[f"M{i}" for i in range(20)])
    assert load(owner_db, more).inserted == 20 and oid(owner_db) == swapped  # not empty
    with owner_db.begin() as c, pytest.raises(Exception, match="unique|duplicate"):
        c.execute(text("INSERT INTO building (source, source_id, geom) SELECT source, "
                       "source_id, geom FROM building LIMIT 1"))


def test_a_failed_stream_leaves_building_as_it_was(owner_db, monkeypatch) -> None:
    """A row the table's CHECK refuses (here an invalid polygon slipped past ``prepare``)
    aborts the whole load: nothing stored, the table and its catalogue unchanged, no shadow."""
    monkeypatch.setattr(swapload, "SWAP_MIN_ROWS", 10)
    before, first_oid = catalog(owner_db), oid(owner_db)
    r = Report("buildings", "x")
    prepared = bld.prepare(frame(40), r, id_field="bid")
    bow = shapely.Polygon([(LON, LAT), (LON + 1e-4, LAT + 1e-4), (LON + 1e-4, LAT),
                           (LON, LAT + 1e-4)])
    prepared.loc[30, "geometry"] = bow  # self-intersecting, in the second stream's share
    with pytest.raises(Exception, match="building_geom_valid"):
        bld.load_frame(owner_db, prepared, "s", r)
    assert count(owner_db) == 0 and oid(owner_db) == first_oid
    assert catalog(owner_db) == before
    prepared.loc[30, "geometry"] = shapely.box(LON, LAT + 0.02, LON + 1e-4, LAT + 0.0201)
    assert bld.load_frame(owner_db, prepared, "s", Report("buildings", "x")).inserted == 40
    assert catalog(owner_db) == before and count(owner_db) == 40


def test_readers_during_the_swap_see_nothing_or_everything(owner_db, monkeypatch) -> None:
    """Queries running all through a parallel first load never fail and never see part of it
    (the switch waits for them, and those queued behind it read the new table)."""
    import threading

    monkeypatch.setattr(swapload, "SWAP_MIN_ROWS", 10)
    n = 3000
    g = boxes(n).assign(bid=[f"R{i}" for i in range(n)])
    g["geometry"] = [shapely.box(LON + (i % 60) * 3e-4, LAT + (i // 60) * 3e-4,
                                 LON + (i % 60) * 3e-4 + 1e-4, LAT + (i // 60) * 3e-4 + 1e-4)
                     for i in range(n)]
    seen: set[int] = set()
    errors: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                with owner_db.connect() as c:
                    seen.add(c.execute(text(
                        "SELECT count(*) FROM building WHERE geom && "
                        "ST_MakeEnvelope(0, 0, 180, 90, 4326)")).scalar_one())
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                errors.append(repr(e))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        first = oid(owner_db)
        assert load(owner_db, g).inserted == n
        assert oid(owner_db) != first  # it did take the swap path
    finally:
        done.set()
        for t in readers:
            t.join()
    assert not errors, errors[:3]
    assert seen and seen <= {0, n}
    assert count(owner_db) == n


def test_a_view_on_building_keeps_the_load_on_one_connection(owner_db, monkeypatch) -> None:
    """Something a swap could not carry over (here a view reading building) sends the load
    down the one-connection path: same rows, the view still works."""
    monkeypatch.setattr(swapload, "SWAP_MIN_ROWS", 10)
    with owner_db.begin() as c:
        c.execute(text("CREATE VIEW building_names AS SELECT source_id, name FROM building"))
    try:
        first = oid(owner_db)
        assert load(owner_db, frame(30)).inserted == 30
        assert oid(owner_db) == first
        with owner_db.connect() as c:
            assert c.execute(text("SELECT count(*) FROM building_names")).scalar_one() == 30
    finally:
        with owner_db.begin() as c:
            c.execute(text("DROP VIEW IF EXISTS building_names"))
