"""A small hand-built territory for the core tests (used by the api, cli and db tests).

Coordinates are WGS84 degrees near Suzhou (1e-3 deg lon ~ 95 m, 1e-3 deg lat ~ 111 m)::

    31.32 +-------------------+-------------------+-------------------+
          |  G3     |U3a|     |  G4 (two holes:   |  G6 kind=port     |
    31.31 +---------+---------+  H1 empty,        |                   |
          | G1      | G2      |  H2 filled by G5) |                   |
          | U1a|U1b | U2a 1/4 |                   |                   |
    31.30 +---------+---------+-------------------+-------------------+
       120.60    120.61    120.62              120.64              120.66
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import shapely
from sqlalchemy import Engine, text

from gis.territory import generations as territory
from gis.territory import people
from gis.territory.generations import AreaRecord

D = "320508"
S = D + "001"
C = S + "001"
G1, G2, G3, G4, G5, G6 = (C + f"{i:03d}" for i in range(1, 7))
U1A, U1B = G1 + "001", G1 + "002"
U2A = G2 + "001"
U3A = G3 + "001"   # touches the G2 | G3 edge where G2 has no unit

H1 = (120.625, 31.305, 120.627, 31.307)   # empty hole of G4
H2 = (120.633, 31.313, 120.635, 31.315)   # hole of G4 filled by G5

box = shapely.box


def areas(shift: float = 0.0, g1_code: str = G1) -> list[AreaRecord]:
    """The records; ``shift`` moves G1/G2's shared edge east (for a second generation)."""
    whole = box(120.60, 31.30, 120.66, 31.32)
    e = 120.61 + shift
    g4 = shapely.Polygon(box(120.62, 31.30, 120.64, 31.32).exterior.coords,
                         [box(*H1).exterior.coords, box(*H2).exterior.coords])
    recs = [
        AreaRecord("district", D, "Test district", whole),
        AreaRecord("street", S, "Test street", whole, D),
        AreaRecord("community", C, "Test community", whole, S),
        AreaRecord("grid", g1_code, "G1", box(120.60, 31.30, e, 31.31), C),
        AreaRecord("grid", G2, "G2", box(e, 31.30, 120.62, 31.31), C),
        AreaRecord("grid", G3, "G3", box(120.60, 31.31, 120.62, 31.32), C),
        AreaRecord("grid", G4, "G4", g4, C),
        AreaRecord("grid", G5, "G5", box(*H2), C),
        AreaRecord("grid", G6, "G6 port", box(120.64, 31.30, 120.66, 31.32), C, kind="port"),
    ]
    if g1_code == G1:
        recs += [
            AreaRecord("unit", U1A, "U1a", box(120.60, 31.30, 120.605, 31.31), G1),
            AreaRecord("unit", U1B, "U1b", box(120.605, 31.30, e, 31.31), G1),
        ]
    recs.append(AreaRecord("unit", U2A, "U2a", box(e, 31.30, 120.615, 31.305), G2))
    recs.append(AreaRecord("unit", U3A, "U3a", box(120.615, 31.31, 120.62, 31.315), G3))
    return recs


def load(engine: Engine, **kw) -> int:
    """Load the territory as the active generation; returns its id."""
    with engine.begin() as conn:
        gen = territory.create_generation(conn, "hand-built test territory", source="test")
        territory.insert_areas(conn, gen, areas(**kw))
        territory.activate_generation(conn, gen)
    return gen


def load_people(engine: Engine) -> dict[str, int]:
    """Workers: G1 full-time W1 + leader L1; G2 leader L1 only; G3 an expired full-time W3 and
    leader L3; G4 only an expired full-time W4; G5, G6 nobody."""
    past = datetime.now(UTC) - timedelta(days=30)
    with engine.begin() as conn:
        ids = people.upsert_workers(conn, [(c, f"name {c}", None)
                                           for c in ("W1", "L1", "W3", "L3", "W4")])
        people.assign_roles(conn, [
            (ids["W1"], G1, "full_time", past), (ids["L1"], G1, "grid_leader", past),
            (ids["L1"], G2, "grid_leader", past),
            (ids["W3"], G3, "full_time", past), (ids["L3"], G3, "grid_leader", past),
            (ids["W4"], G4, "full_time", past),
        ])
        conn.execute(text("UPDATE grid_role SET valid_to = now() - interval '1 day' "
                          "WHERE worker_id = ANY(:w)"), {"w": [ids["W3"], ids["W4"]]})
    return ids


def insert_building(engine: Engine, source_id: str, address: str | None,
                    x: float, y: float, d: float = 0.0001) -> int:
    """A small square building centred on (x, y); returns its id."""
    with engine.begin() as conn:
        return conn.execute(text(
            "INSERT INTO building (source_id, address, geom) VALUES (:s, :a, "
            "ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))) RETURNING id"),
            {"s": source_id, "a": address, "x0": x - d, "y0": y - d, "x1": x + d, "y1": y + d},
        ).scalar_one()
