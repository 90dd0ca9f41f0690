"""Store a validated territory as a new draft generation (activation: gis.territory.activation)."""

from __future__ import annotations

from sqlalchemy import Connection

from boundaries import bulk
from boundaries.validate import Validation
from gis.db.queries import q
from gis.territory.generations import LEVELS, AreaRecord, copy_generation, create_generation


def store(conn: Connection, v: Validation, description: str, source: str | None) -> int:
    """Write the territory of a validation as a new draft generation; returns its id."""
    gen = create_generation(conn, description, source)
    # pieces set-based at the end (when the role may switch the per-row trigger off)
    set_based = bulk.pieces_off(conn)
    for lvl in LEVELS:
        if lvl in v.written_levels:
            bulk.insert_areas(conn, gen, [
                AreaRecord(a.level, a.code, a.name, a.geom, a.parent_code, a.kind)
                for a in v.areas[lvl]
            ])
        elif v.base_generation is not None:
            copy_generation(conn, v.base_generation, gen, [lvl])
    if set_based:
        bulk.pieces_on(conn, gen)
    # fresh statistics, so the planner sees the new generation's size (hash joins, not loops)
    conn.execute(q("boundaries.sql", "analyze_territory", "boundaries.sql"))
    return gen
