"""The API works out due times with the calendar of its own settings (create_app(settings)),
whatever calendar the environment names."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from support.workflow import G1, bearer, clear_workflow, grid_point, row

from gis import calendar
from gis.api.app import create_app
from gis.clock import CST
from gis.intake import events

ITEM = "dispute.family"  # grid level; given 4 working hours here
# Every day a working day, 09:00–11:00 only: far from the shipped calendar.
TWO_HOURS_A_DAY = 'hours = [["09:00", "11:00"]]\nweekend = []\n'


@pytest.fixture()
def client(demo_district, engine, owner_engine, settings, tmp_path, monkeypatch):
    """The API with its own calendar file; the environment names the shipped one."""
    clear_workflow(owner_engine)
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE event_item SET time_limit_h = 4, time_limit_unit = 'wh' "
                          "WHERE code = :c"), {"c": ITEM})
    events._catalogue.items.clear()
    f = tmp_path / "district.toml"
    f.write_text(TWO_HOURS_A_DAY, encoding="utf-8")
    monkeypatch.setenv("WANGGE_CALENDAR_FILE", str(calendar.default_path()))
    app = create_app(settings.model_copy(update={"calendar_file": str(f)}), listen=False)
    with TestClient(app) as c:
        c.headers.update(bearer(engine, "district_centre", name="centre"))
        yield c


def test_intake_and_dispatch_follow_the_apps_calendar(client, engine):
    """Reported Fri 10:00 with 4 wh: Fri 10–11, Sat 09–11, Sun 09–10 → due Sun 10:00 (the
    shipped calendar would say Fri 15:30); a dispatch's due time follows the same calendar."""
    lon, lat = grid_point(engine, G1)
    r = client.post("/api/v1/events", json={"item": ITEM, "lon": lon, "lat": lat,
                                            "reported_at": "2026-12-04T10:00:00+08:00"})
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    assert row(engine, eid)["due_at"] == datetime(2026, 12, 6, 10, tzinfo=CST)
    for action in ("accept", "dispatch"):
        r = client.post(f"/api/v1/events/{eid}/transitions", json={"action": action})
        assert r.status_code == 200, r.text
    with engine.connect() as conn:
        at = conn.execute(text("SELECT at FROM event_history WHERE event_id = :e "
                               "AND action = 'dispatch'"), {"e": eid}).scalar_one()
    mine = calendar.load(client.app.state.settings.calendar_file)
    assert row(engine, eid)["due_at"] == calendar.add_working_hours(at, 4, mine)
