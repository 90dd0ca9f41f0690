"""Writing and reading the territory: generations and their district → unit boundaries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import shapely
from psycopg2.extras import execute_values
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from gis.db.queries import named, q

LEVELS: tuple[str, ...] = ("district", "street", "community", "grid", "unit")
PARENT_LEVEL = {"street": "district", "community": "street", "grid": "community", "unit": "grid"}
PARENT_COLUMN = {
    "street": "district_code",
    "community": "street_code",
    "grid": "community_code",
    "unit": "grid_code",
}
GRID_KINDS = ("basic", "industrial", "port", "sea_islands", "special")
GRID_KIND_ZH = {  # the Chinese names of the grid kinds, for people
    "basic": "基础网格", "industrial": "工业园区专属网格", "port": "港口专属网格",
    "sea_islands": "海域海岛专属网格", "special": "其他专属网格",
}
SQL = "generations.sql"
ACTIVATION_SQL = "activation.sql"
PKG = "gis.territory.sql"


@dataclass
class AreaRecord:
    """One boundary to store: level, code, name, parent code, geometry (WGS84) and grid kind."""

    level: str
    code: str
    name: str
    geom: BaseGeometry
    parent_code: str | None = None
    kind: str = "basic"
    extra: dict = field(default_factory=dict)


def create_generation(conn: Connection, description: str = "", source: str | None = None) -> int:
    """Open a new draft generation and return its id."""
    return conn.execute(q(SQL, "create_generation", PKG),
                        {"d": description, "s": source}).scalar_one()


def active_generation(conn: Connection) -> int | None:
    """Id of the active generation, or None when there is none."""
    return conn.execute(q(ACTIVATION_SQL, "active_generation", PKG)).scalar()


def activate_generation(conn: Connection, generation_id: int) -> int | None:
    """Make ``generation_id`` the active one (in the caller's transaction); return the old one."""
    conn.execute(q(SQL, "lock_generations", PKG))
    old = active_generation(conn)
    if old == generation_id:
        return old
    conn.execute(q(ACTIVATION_SQL, "retire_active", PKG))
    conn.execute(q(ACTIVATION_SQL, "make_active", PKG), {"g": generation_id})
    return old


def _statement(name: str) -> str:
    """A named statement of generations.sql as plain text (an execute_values template)."""
    return named(SQL, PKG)[name].text


def _multi(geom: BaseGeometry) -> bytes:
    """WKB of ``geom`` as a MultiPolygon."""
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    if geom.geom_type != "MultiPolygon":
        raise ValueError(f"expected a polygon, got {geom.geom_type}")
    return shapely.to_wkb(geom, include_srid=False)


def insert_areas(conn: Connection, generation_id: int, records: Iterable[AreaRecord]) -> int:
    """Insert boundaries into a generation, parents first; returns how many rows were written."""
    by_level: dict[str, list[AreaRecord]] = {lvl: [] for lvl in LEVELS}
    for rec in records:
        if rec.level not in by_level:
            raise ValueError(f"unknown level {rec.level!r} for {rec.code}")
        by_level[rec.level].append(rec)
    raw = conn.connection.dbapi_connection
    n = 0
    with raw.cursor() as cur:
        all_codes = [(r.code, r.level) for lvl in LEVELS for r in by_level[lvl]]
        execute_values(
            cur,
            _statement("insert_area_codes"),
            all_codes,
            page_size=5000,
        )
        for lvl in LEVELS:
            rows = by_level[lvl]
            if not rows:
                continue
            n += len(rows)
            if lvl == "district":
                execute_values(
                    cur,
                    _statement("insert_district"),
                    [(generation_id, r.code, r.name, _multi(r.geom)) for r in rows],
                    template="(%s, %s, %s, ST_GeomFromWKB(%s, 4326))",
                    page_size=2000,
                )
            elif lvl == "grid":
                execute_values(
                    cur,
                    _statement("insert_grid"),
                    [
                        (generation_id, r.code, r.name, r.parent_code, r.kind, _multi(r.geom))
                        for r in rows
                    ],
                    template="(%s, %s, %s, %s, %s, ST_GeomFromWKB(%s, 4326))",
                    page_size=2000,
                )
            else:
                execute_values(
                    cur,
                    _statement(f"insert_{lvl}"),
                    [(generation_id, r.code, r.name, r.parent_code, _multi(r.geom)) for r in rows],
                    template="(%s, %s, %s, %s, ST_GeomFromWKB(%s, 4326))",
                    page_size=2000,
                )
    return n


def copy_generation(
    conn: Connection, source_id: int, target_id: int, levels: Sequence[str] = LEVELS
) -> None:
    """Copy the boundaries of one generation into another (for partial re-imports)."""
    for lvl in LEVELS:
        if lvl in levels:
            conn.execute(q(SQL, f"copy_{lvl}", PKG), {"s": source_id, "t": target_id})
