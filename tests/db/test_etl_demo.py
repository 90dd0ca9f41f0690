"""The Suzhou demo district loads once, completely, in well under a minute."""

from __future__ import annotations

import time

from sqlalchemy import text

from etl.demo import load_demo


def test_demo_district_loads_once(clean_db) -> None:
    t = time.perf_counter()
    gen = load_demo(clean_db, n_events=60, days=5)
    assert time.perf_counter() - t < 60
    q = {
        "buildings": "SELECT count(*) FROM building",
        "grids": f"SELECT count(*) FROM grid WHERE generation_id = {gen}",
        "units": f"SELECT count(*) FROM unit WHERE generation_id = {gen}",
        "cameras": "SELECT count(*) FROM camera",
        "tracks": "SELECT count(*) FROM patrol_track",
        "events": "SELECT count(*) FROM event WHERE location_status = 'inside'",
        "history": "SELECT count(DISTINCT event_id) FROM event_history",
        "no_worker": f"SELECT count(*) FROM grid g WHERE generation_id = {gen} AND NOT EXISTS "
                     "(SELECT 1 FROM grid_role r WHERE r.area_code = g.code AND "
                     "r.role = 'full_time')",
        "district": f"SELECT code FROM district WHERE generation_id = {gen}",
        "closed": "SELECT count(*) FROM event WHERE status = 'closed'",
        "late": "SELECT count(*) FROM event_history WHERE action = 'resolve' "
                "AND NOT (data ->> 'within_limit')::boolean",
        "waiting": "SELECT count(*) FROM event WHERE status = 'reported'",
        "received_later": "SELECT count(*) FROM event e JOIN event_history h ON h.event_id = "
                          "e.id AND h.action = 'reported' WHERE h.at <> e.received_at "
                          "OR e.received_at > e.reported_at + interval '1 minute'",
    }
    with clean_db.connect() as c:
        got = {k: c.execute(text(v)).scalar_one() for k, v in q.items()}
    assert got["buildings"] == 3076 and got["district"] == "320508"
    assert 8 <= got["grids"] <= 25 and got["units"] > 1000
    assert got["cameras"] > 50 and got["tracks"] == 5 * got["grids"]
    assert got["events"] >= 55 and got["history"] == 60 and got["no_worker"] == 0
    assert got["closed"] >= 10 and 0 < got["late"] < got["closed"]  # the desk's closed loop
    assert got["waiting"] >= 10  # today's, not yet accepted
    assert got["received_later"] == 0  # each arrived when reported, as its history says
    assert load_demo(clean_db) == gen  # a second call does not duplicate
    with clean_db.connect() as c:
        assert c.execute(text("SELECT count(*) FROM generation")).scalar_one() == 1
        assert c.execute(text("SELECT count(*) FROM building")).scalar_one() == 3076
