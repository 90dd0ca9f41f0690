"""Activation without a pause: reports stored while a generation activates land in the
generation active when they committed, and the locator's index of the new generation is
built before the switch."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from support.db import appended_counts

from gis.intake import catalogue
from gis.intake.events import IntakeResult, Report, ingest
from gis.territory import activation as act
from gis.territory import generations, synthetic
from gis.territory.locator import Locator

GRID_AT = text("SELECT code FROM grid WHERE generation_id = :g "
               "AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) ORDER BY code LIMIT 1")
BLOCKED_BY = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")


def item(engine: Engine) -> str:
    """An active catalogue item code."""
    with engine.connect() as c:
        return sorted(catalogue.active_items(c))[0]


def draft(engine: Engine, seed: int = 43) -> int:
    """The demo district redrawn (same codes, other jitter) as a committed draft generation."""
    with engine.begin() as c:
        gen = generations.create_generation(c, "redrawn", "test")
        generations.insert_areas(c, gen, synthetic.generate(seed=seed))
    return gen


def moving_point(engine: Engine, old: int, new: int, seed: int = 5) -> tuple[float, float,
                                                                            str, str]:
    """A point inside a grid of both generations whose grid code differs between them."""
    rnd = random.Random(seed)
    with engine.connect() as c:
        for _ in range(10_000):
            x, y = rnd.uniform(120.5925, 120.6135), rnd.uniform(31.3005, 31.3185)
            a = c.execute(GRID_AT, {"g": old, "x": x, "y": y}).scalar()
            b = c.execute(GRID_AT, {"g": new, "x": x, "y": y}).scalar()
            if a and b and a != b:
                return x, y, a, b
    raise AssertionError("no point changes grid")


def wait_for(cond: Callable[[], bool], what: str) -> None:
    """Poll ``cond`` until it holds (a state reached, not a duration asserted)."""
    deadline = time.monotonic() + 60
    while not cond():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def blocked_by(engine: Engine, pid: int) -> bool:
    """Whether some backend waits for a lock held by backend ``pid``."""
    with engine.connect() as c:
        return c.execute(BLOCKED_BY, {"pid": pid}).scalar_one() > 0


def event_row(engine: Engine, event_id: int, activation: int) -> Any:
    """The event's generation and grid, and whether the activation rewrote it."""
    with engine.connect() as c:
        return c.execute(text(
            "SELECT e.generation_id, e.grid_code, "
            "EXISTS (SELECT 1 FROM event_assignment a WHERE a.event_id = e.id "
            "        AND a.activation_id = :a) AS moved, "
            "(SELECT count(*) FROM event_history h WHERE h.event_id = e.id "
            " AND h.action = 'reassigned') AS reassigned "
            "FROM event e WHERE e.id = :e"), {"e": event_id, "a": activation}).one()


def activate_in_thread(engine: Engine, gen: int, out: dict[str, Any],
                       before_commit: threading.Event | None = None) -> threading.Thread:
    """Activate ``gen`` as an import does, in a thread; its backend pid in ``out['pid']``."""

    def run(c: Connection) -> None:
        out["pid"] = c.execute(text("SELECT pg_backend_pid()")).scalar_one()
        act.lock(c)
        out["result"] = act.activate(c, gen)
        out["switched"] = True
        if before_commit is not None:
            assert before_commit.wait(60)

    def body() -> None:
        try:
            with engine.begin() as c:
                run(c)
        except BaseException as e:  # noqa: BLE001 - the test reports it
            out["error"] = e

    t = threading.Thread(target=body)
    t.start()
    return t


@pytest.mark.parametrize("catch_up_few", [300, 0])
def test_a_report_stored_while_open_events_are_relocated_is_relocated_too(
        engine: Engine, demo_district: int, monkeypatch: pytest.MonkeyPatch,
        catch_up_few: int) -> None:
    """Intake does not wait for the re-location of the open events; a report it stores
    meanwhile (in the old generation) is re-located by the same activation: at the switch
    when few were reported meanwhile, else in a catch-up pass before it."""
    monkeypatch.setattr(act, "CATCH_UP_FEW", catch_up_few)
    loc = Locator(engine)
    it = item(engine)
    rnd = random.Random(3)
    ingest(engine, loc, [Report(item=it, lon=rnd.uniform(120.5925, 120.6135),
                                lat=rnd.uniform(31.3005, 31.3185)) for _ in range(150)])
    gen2 = draft(engine)
    x, y, old_grid, new_grid = moving_point(engine, demo_district, gen2)
    with engine.connect() as c:  # an open event that moves: the activation will update it
        mover = next(r.id for r in c.execute(text(
            "SELECT id, ST_X(geom) AS x, ST_Y(geom) AS y, grid_code FROM event ORDER BY id"))
            if c.execute(GRID_AT, {"g": gen2, "x": r.x, "y": r.y}).scalar() not in
            (None, r.grid_code))
    holder = engine.connect()
    hold = holder.begin()
    holder.execute(text("SELECT 1 FROM event WHERE id = :e FOR UPDATE"), {"e": mover})
    holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
    out: dict[str, Any] = {}
    t = activate_in_thread(engine, gen2, out)
    try:
        # the activation is re-locating: stopped at the event held above
        wait_for(lambda: blocked_by(engine, holder_pid), "the activation waits for the event")
        res = ingest(engine, loc, [Report(item=it, lon=x, lat=y)])
        assert t.is_alive() and "switched" not in out  # stored before the switch
    finally:
        hold.rollback()
        holder.close()
        t.join(120)
    assert "error" not in out, out.get("error")
    ev = res.events[0]
    assert (ev["location"]["generation"], ev["location"]["grid"]) == (demo_district, old_grid)
    a = out["result"]
    assert (a["late"] >= 1) == (catch_up_few > 0)
    row = event_row(engine, ev["id"], a["activation"])
    assert (row.generation_id, row.grid_code, row.moved, row.reassigned) == (gen2, new_grid,
                                                                             True, 1)
    with engine.connect() as c:  # and no open event is left where the new generation moves it
        left = c.execute(text(act.locate_open_sql() + " SELECT count(*) FROM moves"),
                         act.locate_params(gen2, 300.0)).scalar_one()
    assert left == 0


def test_a_report_arriving_after_the_switch_waits_and_lands_in_the_new_generation(
        engine: Engine, demo_district: int) -> None:
    """From the switch to the commit a report waits; then it is located in the new
    generation (its first location, in the old one, is stored nowhere)."""
    loc = Locator(engine)
    loc.refresh(force=True)
    gen2 = draft(engine)
    x, y, old_grid, new_grid = moving_point(engine, demo_district, gen2)
    go = threading.Event()
    out: dict[str, Any] = {}
    t = activate_in_thread(engine, gen2, out, before_commit=go)
    got: dict[str, IntakeResult | BaseException] = {}

    def report() -> None:
        try:
            got["r"] = ingest(engine, loc, [Report(item=item(engine), lon=x, lat=y)])
        except BaseException as e:  # noqa: BLE001 - the test reports it
            got["r"] = e

    try:
        wait_for(lambda: "switched" in out or "error" in out or not t.is_alive(),
                 "the switch")
        r = threading.Thread(target=report)
        r.start()
        wait_for(lambda: blocked_by(engine, out["pid"]), "the report waits for the switch")
        assert "r" not in got
    finally:
        go.set()
        t.join(60)
    r.join(60)
    assert "error" not in out, out.get("error")
    res = got["r"]
    assert isinstance(res, IntakeResult), res
    ev = res.events[0]
    assert (ev["location"]["generation"], ev["location"]["grid"]) == (gen2, new_grid)
    row = event_row(engine, ev["id"], out["result"]["activation"])
    assert (row.generation_id, row.grid_code, row.moved) == (gen2, new_grid, False)
    assert old_grid != new_grid


def test_the_index_built_ahead_is_swapped_in_unless_the_draft_changed(
        engine: Engine, demo_district: int) -> None:
    """``Locator.prepare`` builds a draft's index before its activation; the refresh after
    the switch takes it (fresh roles); a draft edited after it was built is built again."""
    loc = Locator(engine)
    loc.refresh(force=True)
    gen2 = draft(engine)
    x, y, _old, new_grid = moving_point(engine, demo_district, gen2)
    loc.prepare(gen2)
    assert loc.prepared == gen2 and loc.snapshot.generation == demo_district
    with engine.begin() as c:
        act.activate(c, gen2)
    snap = loc.refresh()
    assert (snap.generation, loc.prepared) == (gen2, None)
    assert snap.locate_wgs84(x, y).grid == new_grid
    # a draft edited after its index was built: the edit is what counts
    gen3 = draft(engine, seed=44)
    loc.prepare(gen3)
    with engine.begin() as c:
        c.execute(text("UPDATE grid SET name = 'renamed' WHERE generation_id = :g "
                       "AND code = :c"), {"g": gen3, "c": new_grid})
        act.activate(c, gen3)
    snap = loc.refresh()
    assert snap.generation == gen3
    assert snap.grid_names[snap.grid_codes.index(new_grid)] == "renamed"


def _kept_counts_match(engine: Engine) -> None:
    """The live map's kept counts equal a count of the events (district and one grid)."""
    from datetime import UTC, datetime, timedelta

    from gis.oversight import dashboard as dq

    f = dq.Filters(since=datetime.now(UTC) - timedelta(days=1))
    grid = dq.grids(engine)[0]["code"]
    for flt in (f, dq.Filters(since=f.since, area=grid[:12])):
        assert (dq.event_summary(engine, flt, use_tally=True)
                == dq.event_summary(engine, flt, use_tally=False))


def test_activation_and_rollback_fold_the_map_counts_they_appended_once_committed(
        engine: Engine, demo_district: int) -> None:
    """The count changes the moves append to the live map's counts are folded right after the
    commit, in a transaction of their own, not left for some report's statement to fold; a
    rollback's too, and a rollback's preview folds nothing. The kept counts equal the events."""
    from gis.oversight import dashboard as dq

    rnd = random.Random(7)
    ingest(engine, Locator(engine), [Report(item=item(engine), lon=rnd.uniform(120.5925, 120.6135),
                                            lat=rnd.uniform(31.3005, 31.3185))
                                     for _ in range(150)])
    dq.compact_tally(engine)
    gen2 = draft(engine)
    with engine.begin() as c:
        act.lock(c)
        assert act.activate(c, gen2)["moved"] > 0
    assert appended_counts(engine) > 0  # activate() alone leaves them appended
    dq.compact_tally(engine)
    gen3 = draft(engine, seed=44)
    res = act.activate_draft(engine, gen3, base=gen2, during="the test")
    assert res["moved"] > 0 and appended_counts(engine) == 0
    _kept_counts_match(engine)
    preview = act.rollback_generation(engine, commit=False)
    assert preview["restored"] > 0 and appended_counts(engine) == 0
    with engine.connect() as c:
        assert generations.active_generation(c) == gen3
    done = act.rollback_generation(engine, commit=True)
    assert done["restored"] == preview["restored"] and appended_counts(engine) == 0
    _kept_counts_match(engine)


def test_a_failed_fold_after_the_commit_is_logged_not_raised(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    """The activation is committed when its fold runs: a database error there (here, a
    database without the live map's counts) is a warning in the log, not an error raised to
    the import."""
    from sqlalchemy import create_engine

    other = create_engine(engine.url.set(database="postgres"))
    try:
        with caplog.at_level("WARNING", logger="gis.territory.activation"):
            act.fold_map_counts(other)
    finally:
        other.dispose()
    assert "not folded after the activation" in caplog.text
