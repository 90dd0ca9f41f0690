"""The generations as ``wangge boundaries list`` and GET /api/v1/boundaries show them."""

from __future__ import annotations

from sqlalchemy import Connection

from gis.db.queries import q
from gis.territory.activation import GenerationRow


def generations(conn: Connection) -> list[GenerationRow]:
    """Every generation with its size and the open events whose current codes are its own."""
    rows = conn.execute(q("boundaries.sql", "generations_by_codes", "boundaries.sql"))
    return [GenerationRow(**r) for r in rows.mappings()]
