"""Group commit at the database: one failing request of a group does not fail the others."""

from __future__ import annotations

import support.territory as T
from sqlalchemy import text

from gis.intake import events, groupcommit
from gis.territory.locator import Locator


def test_a_request_the_database_refuses_fails_alone(clean_db):
    T.load(clean_db)
    loc = Locator(clean_db)
    loc.refresh(force=True)

    def request(desc: str) -> events.StoreRequest:
        return events.prepare_request(clean_db, loc, [events.Report(
            item="safety.fire", lon=120.602, lat=31.302, description=desc)], audit=None)

    good, bad, other = request("good"), request("bad"), request("other")
    # past validation, the database refuses it (an item the catalogue does not hold)
    bad.rows = [(row[0], "no.such_item", *row[2:]) for row in bad.rows]
    out = groupcommit._store_apart(clean_db, [good, bad, other])
    assert out[0].outcome == "stored" and out[2].outcome == "stored"
    assert isinstance(out[1], Exception)
    with clean_db.connect() as conn:
        stored = conn.execute(text("SELECT description FROM event ORDER BY id")).scalars().all()
    assert stored == ["good", "other"]
    assert out[0].ids != out[2].ids


def test_a_changed_generation_stores_nothing_and_says_so(clean_db):
    T.load(clean_db)
    loc = Locator(clean_db)
    loc.refresh(force=True)
    req = events.prepare_request(clean_db, loc, [events.Report(
        item="safety.fire", lon=120.602, lat=31.302, description="late")])
    req.generation = (req.generation or 0) + 1000  # located in a generation no longer active
    out = events.store_group(clean_db, [req])
    assert out[0].outcome == "moved"
    with clean_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event")).scalar_one() == 0
