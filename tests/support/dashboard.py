"""Events and cameras seeded for the dashboard tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from gis.oversight import dashboard as dq


def seed(engine) -> None:
    """Three events, two cameras and one patrol track inside the demo district."""
    with engine.begin() as conn:
        u = conn.execute(text(
            "SELECT u.code, u.grid_code, u.id, g.id AS gid, ST_X(ST_PointOnSurface(u.geom)) x,"
            " ST_Y(ST_PointOnSurface(u.geom)) y, u.generation_id FROM unit u JOIN grid g ON "
            "g.code = u.grid_code AND g.generation_id = u.generation_id ORDER BY u.code LIMIT 1"
        )).mappings().one()
        for status, due in (("reported", -1), ("closed", 5), ("accepted", 5)):
            conn.execute(text(
                "INSERT INTO event (item_code, source, reporter, geom, location_status, "
                "location_method, generation_id, grid_id, unit_id, street_code, community_code,"
                " grid_code, unit_code, status, due_at) VALUES ('safety.fire', 'worker', :w, "
                "ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'inside', 'point', :gen, :gid, :uid, "
                ":s, :c, :g, :u, :st, now() + make_interval(hours => :due))"),
                {"x": u["x"], "y": u["y"], "gen": u["generation_id"], "gid": u["gid"],
                 "uid": u["id"], "s": u["grid_code"][:9], "c": u["grid_code"][:12],
                 "g": u["grid_code"], "u": u["code"], "st": status, "due": due,
                 "w": "W" + u["grid_code"]})
        for code, dx in (("CAM-FAR", 0.0015), ("CAM-NEAR", 0.0003)):
            conn.execute(text("INSERT INTO camera (code, geom) VALUES (:c, "
                              "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                         {"c": code, "x": u["x"] + dx, "y": u["y"]})
        wid = conn.execute(text("SELECT id FROM worker WHERE code = :c"),
                           {"c": "W" + u["grid_code"]}).scalar()
        t = datetime.now(UTC).timestamp()
        conn.execute(text(
            "INSERT INTO patrol_track (worker_id, grid_code, started_at, ended_at, geom, "
            "length_m) VALUES (:w, :g, now() - interval '1 hour', now(), ST_GeomFromText("
            ":wkt, 4326), 100)"),
            {"w": wid, "g": u["grid_code"],
             "wkt": f"LINESTRING M ({u['x'] - 0.0002} {u['y']} {t - 60}, "
                    f"{u['x'] + 0.0002} {u['y']} {t})"})


def cameras(engine, n: int = 40) -> tuple[float, float, float, float]:
    """``n`` cameras on a lattice over the district (every 4th offline); returns the extent."""
    ext = dq.extent(engine)
    bbox = (ext["minlon"], ext["minlat"], ext["maxlon"], ext["maxlat"])
    with engine.begin() as conn:
        for i in range(n):
            x = bbox[0] + (bbox[2] - bbox[0]) * ((i % 8) + 0.5) / 8
            y = bbox[1] + (bbox[3] - bbox[1]) * ((i // 8) + 0.5) / ((n + 7) // 8)
            conn.execute(text(
                "INSERT INTO camera (code, name, kind, status, direction_deg, geom) VALUES "
                "(:c, :n, 'dome', :s, 90, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                {"c": f"LAT{i:03d}", "n": f"lattice {i}", "s": "offline" if i % 4 == 0
                 else "online", "x": x, "y": y})
    return bbox
