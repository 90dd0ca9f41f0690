"""Bulk store of a generation's boundaries (same tables and rows as ``gis.territory.generations``).

``gis.territory.generations.insert_areas`` sends every polygon in a multi-row INSERT and
lets the per-row
``area_piece_sync`` trigger subdivide each grid / unit.  For a city (100,000 units) this does
the same work set-based: one COPY (CSV, hex WKB) into a temporary table, one INSERT ... SELECT
per level, and, when the role may switch the two piece triggers off for the transaction
(``ALTER TABLE ... DISABLE TRIGGER`` is transactional: other sessions keep seeing them enabled,
and they are enabled again before commit), one ``INSERT INTO area_piece ... ST_Subdivide``
per level for the whole generation, exactly what the trigger would have written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import shapely
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from gis.territory.generations import LEVELS, PARENT_COLUMN, AreaRecord

PIECE_TRIGGERS = {"grid": "grid_piece_sync", "unit": "unit_piece_sync"}


def _hex_multi(geoms: list) -> list[str]:
    """Hex WKB of every geometry as a MultiPolygon (like ``gis.territory.generations._multi``)."""
    out = []
    for g in geoms:
        if g.geom_type == "Polygon":
            g = shapely.MultiPolygon([g])
        if g.geom_type != "MultiPolygon":
            raise ValueError(f"expected a polygon, got {g.geom_type}")
        out.append(g)
    return list(shapely.to_wkb(out, hex=True, include_srid=False)) if out else []


def pieces_off(conn: Connection) -> bool:
    """Switch the per-row piece triggers off for this transaction; False when not allowed."""
    sp = conn.begin_nested()
    try:
        for lvl, trg in PIECE_TRIGGERS.items():
            conn.execute(text(f"ALTER TABLE {lvl} DISABLE TRIGGER {trg}"))
    except DBAPIError:
        sp.rollback()
        return False
    sp.commit()
    return True


def pieces_on(conn: Connection, gen: int) -> None:
    """Write the generation's area_piece rows set-based, then switch the triggers back on."""
    for lvl, trg in PIECE_TRIGGERS.items():
        conn.execute(text(
            "INSERT INTO area_piece (generation_id, level, area_id, code, geom) "
            f"SELECT a.generation_id, '{lvl}', a.id, a.code, p.geom FROM {lvl} a, "
            "LATERAL ST_Subdivide(a.geom, 128) AS s(geom), LATERAL ST_Dump(s.geom) AS p "
            "WHERE a.generation_id = :g AND GeometryType(p.geom) = 'POLYGON' "
            "ORDER BY a.id"), {"g": gen})
        conn.execute(text(f"ALTER TABLE {lvl} ENABLE TRIGGER {trg}"))


def insert_areas(conn: Connection, gen: int, records: Iterable[AreaRecord]) -> int:
    """Insert boundaries into generation ``gen``, parents first; returns the rows written."""
    recs = list(records)
    for r in recs:
        if r.level not in LEVELS:
            raise ValueError(f"unknown level {r.level!r} for {r.code}")
    if not recs:
        return 0
    wkb = _hex_multi([r.geom for r in recs])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for i, (r, h) in enumerate(zip(recs, wkb, strict=True)):
        w.writerow([i, r.level, r.code, r.name, r.parent_code or "", r.kind or "", h])
    buf.seek(0)
    conn.execute(text(
        "CREATE TEMP TABLE IF NOT EXISTS boundaries_bulk (ord int, level text, code text, "
        "name text, parent_code text, kind text, wkb text) ON COMMIT DROP"))
    conn.execute(text("TRUNCATE boundaries_bulk"))
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur:
        cur.copy_expert(
            "COPY boundaries_bulk FROM STDIN WITH (FORMAT csv, "
            "FORCE_NOT_NULL (code, name, parent_code, kind, wkb))", buf)
    conn.execute(text(
        "INSERT INTO area (code, level) SELECT code, level FROM boundaries_bulk "
        "ORDER BY array_position(ARRAY['district', 'street', 'community', 'grid', 'unit'], "
        "level), ord ON CONFLICT (code) DO NOTHING"))
    geom = "ST_GeomFromWKB(decode(wkb, 'hex'), 4326)"
    for lvl in LEVELS:
        if lvl == "district":
            cols, vals = "code, name, geom", f"code, name, {geom}"
        elif lvl == "grid":
            cols = "code, name, community_code, kind, geom"
            vals = ("code, name, NULLIF(parent_code, ''), COALESCE(NULLIF(kind, ''), 'basic'), "
                    f"{geom}")
        else:
            cols = f"code, name, {PARENT_COLUMN[lvl]}, geom"
            vals = f"code, name, NULLIF(parent_code, ''), {geom}"
        conn.execute(text(
            f"INSERT INTO {lvl} (generation_id, {cols}) SELECT :g, {vals} "
            "FROM boundaries_bulk WHERE level = :lvl ORDER BY ord"), {"g": gen, "lvl": lvl})
    return len(recs)
