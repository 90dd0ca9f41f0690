"""A change of roles (roster load, role writes, rollback) re-derives open events' worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import support.territory as T
from sqlalchemy import Engine, text

from etl import roster
from gis.intake import catalogue
from gis.intake.events import Report, ingest
from gis.oversight import coverage, dashboard
from gis.territory import activation as act
from gis.territory import generations as territory
from gis.territory import people
from gis.territory.locator import Locator

PAST = datetime.now(UTC) - timedelta(days=3)


def _report(engine: Engine, lon: float, lat: float) -> int:
    """Store one report at (lon, lat); returns its id."""
    with engine.connect() as c:
        it = sorted(catalogue.active_items(c))[0]
    _s, stored, _r = ingest(engine, Locator(engine), [Report(item=it, lon=lon, lat=lat)])
    return stored[0]["id"]


def _worker(engine: Engine, event_id: int) -> tuple[str | None, str | None]:
    """(grid code, worker code) of an event."""
    with engine.connect() as c:
        r = c.execute(text("SELECT e.grid_code, w.code FROM event e LEFT JOIN worker w "
                           "ON w.id = e.worker_id WHERE e.id = :i"), {"i": event_id}).one()
    return r[0], r[1]


def _reassigned(engine: Engine, event_id: int) -> list[dict]:
    """The 'reassigned' history rows' data of an event, oldest first."""
    with engine.connect() as c:
        return list(c.execute(text("SELECT data FROM event_history WHERE event_id = :i AND "
                                   "action = 'reassigned' ORDER BY id"),
                              {"i": event_id}).scalars())


def _responsible_in_sql(conn, grids: list[str], at: datetime) -> dict[str, str | None]:
    """Worker code per grid at ``at``, as responsible_worker() gives it."""
    return dict(conn.execute(text("SELECT g, (SELECT worker_code FROM responsible_worker("
                                  "g, :at)) FROM unnest(CAST(:gs AS text[])) g"),
                             {"at": at, "gs": grids}).all())


def test_roster_load_gives_open_events_their_new_worker(clean_db, tmp_path: Path) -> None:
    T.load(clean_db)
    T.load_people(clean_db)                       # G2: leader L1 only; G5, G6: nobody
    e5 = _report(clean_db, 120.634, 31.314)       # G5
    e2 = _report(clean_db, 120.612, 31.303)       # G2
    e6 = _report(clean_db, 120.65, 31.31)         # G6
    assert [_worker(clean_db, e) for e in (e5, e2, e6)] == [
        (T.G5, None), (T.G2, "L1"), (T.G6, None)]
    f = tmp_path / "roster.csv"
    f.write_text("worker_code,name,role,area_code,valid_from\n"
                 f"F5,Five,full_time,{T.G5},{PAST.date()}\n"
                 f"F2,Two,专职网格员,{T.G2},{PAST.date()}\n", encoding="utf-8")
    preview = roster.load_file(clean_db, f)
    assert _worker(clean_db, e5) == (T.G5, None)  # a preview changes nothing
    r = roster.load_file(clean_db, f, commit=True)
    assert [_worker(clean_db, e) for e in (e5, e2, e6)] == [
        (T.G5, "F5"), (T.G2, "F2"), (T.G6, None)]
    assert preview.placement["open_events_reassigned"] == r.placement[
        "open_events_reassigned"] == 2
    h5, h2 = _reassigned(clean_db, e5), _reassigned(clean_db, e2)
    assert [(h["from"]["worker"], h["to"]["worker"]) for h in h5] == [(None, "F5")]
    assert [(h["from"]["worker"], h["to"]["worker"]) for h in h2] == [("L1", "F2")]
    assert _reassigned(clean_db, e6) == []
    # reloading the same roster writes nothing more
    again = roster.load_file(clean_db, f, commit=True)
    assert again.placement["open_events_reassigned"] == 0 and len(_reassigned(clean_db, e5)) == 1
    # a role written directly (people.assign_roles) does the same
    with clean_db.begin() as c:
        ids = people.upsert_workers(c, [("F6", "Six", None)])
        people.assign_roles(c, [(ids["F6"], T.G6, "full_time", PAST)])
    assert _worker(clean_db, e6) == (T.G6, "F6")
    assert [h["to"]["worker"] for h in _reassigned(clean_db, e6)] == ["F6"]


def test_rollback_rederives_the_worker_of_restored_events(clean_db) -> None:
    T.load(clean_db)
    T.load_people(clean_db)
    ev = _report(clean_db, 120.6105, 31.303)      # G2 (leader L1), near the G1 | G2 edge
    assert _worker(clean_db, ev) == (T.G2, "L1")
    with clean_db.begin() as c:                   # the edge moves east: the event goes to G1
        act.lock(c)
        gen = territory.create_generation(c, "edge moved", "test")
        territory.insert_areas(c, gen, T.areas(shift=0.001))
        act.activate(c, gen, actor="test")
    assert _worker(clean_db, ev) == (T.G1, "W1")
    with clean_db.begin() as c:                   # meanwhile G2 gets a full-time worker
        ids = people.upsert_workers(c, [("F2", "Two", None)])
        people.assign_roles(c, [(ids["F2"], T.G2, "full_time", PAST)])
    assert _worker(clean_db, ev) == (T.G1, "W1")  # not in G2 now: untouched
    with clean_db.begin() as c:
        out = act.rollback(c, actor="test")
    assert _worker(clean_db, ev) == (T.G2, "F2"), "rollback kept the former worker"
    assert out["workers_rederived"] == 1
    last = _reassigned(clean_db, ev)[-1]
    assert (last["from"]["worker"], last["to"]["worker"]) == ("L1", "F2")


def test_a_handover_names_the_same_worker_everywhere(clean_db) -> None:
    """Two full-time workers on one grid for a while (a handover): the event, the locator,
    the map's grid list and the patrol duty all name the one who started last."""
    T.load(clean_db)
    T.load_people(clean_db)                       # G1: full-time W1 for 30 days
    with clean_db.begin() as c:
        ids = people.upsert_workers(c, [("F1", "One", None)])
        people.assign_roles(c, [(ids["F1"], T.G1, "full_time", PAST)])
    ev = _report(clean_db, 120.602, 31.305)       # G1
    assert _worker(clean_db, ev) == (T.G1, "F1")
    assert Locator(clean_db).snapshot.responsible(T.G1).worker_code == "F1"
    grids = {g["code"]: g["worker_code"] for g in dashboard.grids(clean_db)}
    with clean_db.connect() as c:
        duty = {r["grid_code"]: r["worker"] for r in coverage.responsible(c, datetime.now(UTC))}
    assert grids[T.G1] == duty[T.G1] == "F1"
    assert duty[T.G2] == "L1"                     # a leader alone still answers


def test_the_database_and_the_locator_name_the_same_worker_at_any_time(clean_db) -> None:
    """responsible_worker(grid, at) and the locator's snapshot agree before, during and after
    a handover, for every grid (the rule is written once, in migration 0020)."""
    T.load(clean_db)
    T.load_people(clean_db)
    with clean_db.begin() as c:
        ids = people.upsert_workers(c, [("F1", "One", None), ("L9", "Nine", None)])
        people.assign_roles(c, [(ids["F1"], T.G1, "full_time", PAST),
                                (ids["L9"], T.G2, "grid_leader", PAST)])
    snap = Locator(clean_db).snapshot
    now = datetime.now(UTC)
    times = [PAST - timedelta(days=1), PAST + timedelta(hours=1), now, now + timedelta(days=400)]
    with clean_db.connect() as c:
        grids = list(c.execute(text("SELECT code FROM grid g JOIN generation n ON "
                                    "n.id = g.generation_id AND n.status = 'active'")).scalars())
        for at in times:
            sql = _responsible_in_sql(c, grids, at)
            mem = {g: (r.worker_code if (r := snap.responsible(g, at)) else None) for g in grids}
            assert sql == mem, at
    assert sql[T.G3] == "L3" and sql[T.G4] is None  # after W3's and W4's roles ended
    with clean_db.connect() as c:
        pick = _responsible_in_sql(c, [T.G1, T.G2], datetime.now(UTC))
    assert pick == {T.G1: "F1", T.G2: "L9"}       # the newest full-time; the newest leader
