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
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from gis.db.queries import q
from gis.territory.generations import LEVELS, AreaRecord

SQL = "boundaries.sql"
PKG = "boundaries.sql"
PIECE_LEVELS = ("grid", "unit")  # the levels whose per-row trigger subdivides into area_piece


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
        for lvl in PIECE_LEVELS:
            conn.execute(q(SQL, f"pieces_off_{lvl}", PKG))
    except DBAPIError:
        sp.rollback()
        return False
    sp.commit()
    return True


def pieces_on(conn: Connection, gen: int) -> None:
    """Write the generation's area_piece rows set-based, then switch the triggers back on."""
    for lvl in PIECE_LEVELS:
        conn.execute(q(SQL, f"pieces_insert_{lvl}", PKG), {"g": gen})
        conn.execute(q(SQL, f"pieces_on_{lvl}", PKG))


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
    conn.execute(q(SQL, "bulk_stage", PKG))
    conn.execute(q(SQL, "bulk_truncate", PKG))
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur:
        cur.copy_expert(q(SQL, "bulk_copy", PKG).text, buf)
    conn.execute(q(SQL, "bulk_area_codes", PKG))
    for lvl in LEVELS:  # parents first; one named statement per level
        conn.execute(q(SQL, f"bulk_insert_{lvl}", PKG), {"g": gen})
    return len(recs)
