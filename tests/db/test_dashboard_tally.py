"""The live map's kept counts (event_tally, migration 0015) give the numbers of the events
counted one by one: any window, zoom, area and viewer scope; after new events, status
changes, moves, deletions and the folding of the appended changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from support.db import appended_counts

from gis.oversight import dashboard as dq

NOW = datetime.now(UTC)
DAY = NOW.replace(hour=0, minute=0, second=0, microsecond=0)  # today 00:00 UTC
INSERT = """
INSERT INTO event (item_code, source, reporter, description, reported_at, received_at, geom,
                   location_status, location_method, generation_id, grid_id, unit_id,
                   street_code, community_code, grid_code, unit_code, status, level, due_at)
SELECT i.code, 'worker', 'tally', 'tally test', r.at, r.at,
       ST_PointOnSurface(u.geom), 'inside', 'point', u.generation_id, g.id, u.id,
       substr(u.grid_code, 1, 9), substr(u.grid_code, 1, 12), u.grid_code, u.code,
       (ARRAY['reported', 'accepted', 'closed', 'resolved', 'rejected', 'in_progress'])
           [1 + k % 6], i.default_level, r.at + interval '6 hours'
FROM generate_series(1, :n) k
CROSS JOIN LATERAL (SELECT CAST(:now AS timestamptz)
                           - make_interval(secs => (k * 7919 % 3600000) + k % 97) AS at) r
JOIN LATERAL (SELECT u.* FROM unit u JOIN generation gn ON gn.id = u.generation_id
              AND gn.status = 'active' ORDER BY u.code OFFSET k * 31 % 288 LIMIT 1) u ON true
JOIN grid g ON g.code = u.grid_code AND g.generation_id = u.generation_id
JOIN LATERAL (SELECT * FROM event_item WHERE active ORDER BY code OFFSET k % 3 LIMIT 1) i ON true
"""
NO_POINT = """
INSERT INTO event (item_code, source, reporter, description, reported_at, received_at,
                   location_status, location_method, status, level, due_at)
SELECT code, 'resident', 'tally', 'no point', CAST(:now AS timestamptz) - interval '3 hours',
       CAST(:now AS timestamptz), 'unassigned', 'address', 'reported', default_level,
       CAST(:now AS timestamptz) FROM event_item WHERE active ORDER BY code LIMIT 1
"""

NO_LIMIT = """
UPDATE event SET due_at = NULL WHERE id IN (
    SELECT id FROM event WHERE status = 'reported' AND reported_at > now() - interval '20 days'
    ORDER BY id LIMIT 3)
"""


@pytest.fixture()
def events(demo_district, engine) -> Engine:
    """Some 1,500 events over the last 42 days across the demo district, one without a point,
    three open ones without a time limit (never overdue)."""
    with engine.begin() as conn:
        conn.execute(text(INSERT), {"n": 1500, "now": NOW})
        conn.execute(text(NO_POINT), {"now": NOW})
        conn.execute(text(NO_LIMIT))
    return engine


def _bbox(engine: Engine) -> dq.BBox:
    ext = dq.extent(engine)
    return (ext["minlon"], ext["minlat"], ext["maxlon"], ext["maxlat"])


def _both(engine: Engine, f: dq.Filters, bbox: dq.BBox, zoom: int) -> None:
    """Bins and summary from the kept counts == from the events, and not empty."""
    kept = dq._cell_bins(engine, f, bbox, zoom, use_tally=True)
    direct = dq._cell_bins(engine, f, bbox, zoom, use_tally=False)
    assert kept == direct
    assert dq.event_summary(engine, f, use_tally=True) == dq.event_summary(
        engine, f, use_tally=False)


WINDOWS = [
    (NOW - timedelta(days=30), dq.FAR_FUTURE),  # the live page: partial first hour
    (NOW.replace(minute=0, second=0, microsecond=0) - timedelta(days=3), dq.FAR_FUTURE),
    (NOW - timedelta(days=9, minutes=17), NOW - timedelta(days=2, hours=5, minutes=3)),
    (NOW - timedelta(minutes=50), NOW - timedelta(minutes=10)),  # inside one hour or two
    (DAY - timedelta(days=5), DAY - timedelta(days=1)),  # whole UTC days only
    (DAY - timedelta(hours=30), DAY + timedelta(hours=1)),  # no whole day inside
]


@pytest.mark.parametrize("since,until", WINDOWS)
def test_kept_counts_equal_the_events(events, since, until):
    """Every window, zoom 10-13, area and viewer scope."""
    bbox = _bbox(events)
    grid = dq.grids(events)[5]["code"]
    for zoom in (10, 12, 13):
        for area, scope in ((None, None), (grid[:9], None), (None, (grid[:12],)),
                            (grid, (grid[:9],))):
            _both(events, dq.Filters(since=since, until=until, area=area, scope=scope),
                  bbox, zoom)
    whole = dq.event_summary(events, dq.Filters(since=NOW - timedelta(days=30)))
    assert whole["total"] > 500 and 0 < whole["open"] < whole["total"] and whole["last_id"]
    assert 0 < whole["overdue"] < whole["open"]   # the last 6 hours' and the 3 without a limit


def test_changes_are_counted_and_folded(events, owner_engine):
    """Status changes, a move to another grid, deletions and new events; then folding."""
    bbox, f = _bbox(events), dq.Filters(since=NOW - timedelta(days=30))
    before = dq.event_summary(events, f)
    with events.begin() as conn:
        conn.execute(text("UPDATE event SET status = 'closed' WHERE id % 5 = 0 "
                          "AND status <> 'closed'"))
        conn.execute(text("UPDATE event SET status = 'reopened' WHERE id % 7 = 0"))
        conn.execute(text(
            "UPDATE event e SET geom = ST_PointOnSurface(u.geom), grid_code = u.grid_code, "
            "unit_code = u.code, unit_id = u.id FROM unit u WHERE e.id % 11 = 0 "
            "AND u.code = (SELECT min(code) FROM unit)"))
        conn.execute(text("UPDATE event SET reported_at = reported_at - interval '50 days' "
                          "WHERE id % 13 = 0"))
        conn.execute(text(INSERT), {"n": 200, "now": NOW - timedelta(minutes=3)})
    with owner_engine.begin() as conn:  # deleting events is not the platform's right
        conn.execute(text("DELETE FROM event_history WHERE event_id IN "
                          "(SELECT id FROM event WHERE id % 17 = 0)"))
        conn.execute(text("DELETE FROM event WHERE id % 17 = 0"))
    after = dq.event_summary(events, f)
    assert after != before
    for zoom in (11, 13):
        _both(events, f, bbox, zoom)
    pending = appended_counts(events)
    assert pending > 0
    assert dq.compact_tally(events) == pending
    assert appended_counts(events) == 0
    assert dq.event_summary(events, f) == after
    for zoom in (11, 13):
        _both(events, f, bbox, zoom)
    dq.rebuild_tally(events)
    assert dq.event_summary(events, f) == after
    _both(events, f, bbox, 12)


def test_filters_the_counts_cannot_answer_read_the_events(events):
    """Class, status and overdue filters are counted from the events; zoom 14+ too."""
    f = dq.Filters(since=NOW - timedelta(days=30), statuses=("closed",))
    assert not dq.tallied(f) and dq.tallied(dq.Filters(since=f.since, scope=("3",)))
    closed = dq.event_summary(events, f)
    assert 0 < closed["total"] == dq.event_bins(events, f, _bbox(events), 12)["total"]
    assert closed["open"] == 0
    assert dq.event_bins(events, dq.Filters(since=f.since), _bbox(events), 15)["total"] > 0


def _kept_rows(engine: Engine, hs: datetime) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM event_tally_from WHERE start = :hs"),
                            {"hs": hs}).scalar_one()


def test_open_windows_read_their_kept_start_hour(events, owner_engine):
    """The live page's window (to the far future) reads its start hour's rows once kept:
    the same numbers as the events, before and after changes are folded into it."""
    bbox, f = _bbox(events), dq.Filters(since=NOW - timedelta(days=30))
    hs = dq.tally_start(f)
    assert hs == (NOW - timedelta(days=30)).replace(minute=0, second=0, microsecond=0) \
        + timedelta(hours=1)
    assert dq.tally_start(dq.Filters(since=f.since, until=NOW)) is None
    before = dq.event_summary(events, f)
    assert dq.keep_tally_start(events, f) and not dq.keep_tally_start(events, f)
    assert _kept_rows(events, hs) == 0  # nothing folded yet: the appended changes are read
    _both(events, f, bbox, 12)
    assert dq.compact_tally(events) > 0
    assert 0 < _kept_rows(events, hs) < 1500
    grid = dq.grids(events)[5]["code"]
    for area, scope in ((None, None), (grid[:9], None), (None, (grid[:12],))):
        g = dq.Filters(since=f.since, area=area, scope=scope)
        _both(events, g, bbox, 12)
    assert dq.event_summary(events, f) == before
    with owner_engine.begin() as conn:  # the reads come from the kept rows: skew them
        conn.execute(text("UPDATE event_tally_from SET n = n + 1 WHERE start = :hs"), {"hs": hs})
    assert dq.event_summary(events, f)["total"] == before["total"] + _kept_rows(events, hs)
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE event_tally_from SET n = n - 1 WHERE start = :hs"), {"hs": hs})
    with events.begin() as conn:
        conn.execute(text("UPDATE event SET status = 'closed' WHERE id % 3 = 0"))
        conn.execute(text(INSERT), {"n": 120, "now": NOW - timedelta(minutes=1)})
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM event_history WHERE event_id IN "
                          "(SELECT id FROM event WHERE id % 19 = 0)"))
        conn.execute(text("DELETE FROM event WHERE id % 19 = 0"))
    changed = dq.event_summary(events, f)
    assert changed != before
    _both(events, f, bbox, 13)  # changes not folded yet
    assert dq.compact_tally(events) > 0
    _both(events, f, bbox, 11)  # folded into the start's rows too
    assert dq.event_summary(events, f) == changed


def test_a_start_dropped_or_recounted_falls_back_to_days_and_hours(events, owner_engine):
    """Starts go two hours after they were built, and with a recount; the window is then read
    from the day and hour rows, with the same numbers."""
    f = dq.Filters(since=NOW - timedelta(days=30))
    hs = dq.tally_start(f)
    dq.compact_tally(events)
    assert dq.keep_tally_start(events, f)
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE event_tally_start SET built_at = now() - interval '3 hours'"))
    assert dq.keep_tally_start(events, dq.Filters(since=NOW - timedelta(days=7)))
    assert _kept_rows(events, hs) == 0  # dropped by the next start built
    _both(events, f, _bbox(events), 12)
    assert dq.keep_tally_start(events, f) and _kept_rows(events, hs) > 0
    dq.rebuild_tally(events)
    with events.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event_tally_start")).scalar_one() == 0
    _both(events, f, _bbox(events), 12)


def _due_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM event_due_tally")).scalar_one()


def test_the_districts_overdue_count_is_kept_by_due_hour(events, owner_engine):
    """The whole district's overdue count comes from event_due_tally (skewing it shows), and
    equals the events' count after due times move (escalation), events fall due this very
    hour, statuses change and the changes are folded; rows back at zero are dropped."""
    f = dq.Filters(since=NOW - timedelta(days=30))
    dq.compact_tally(events)
    before = dq.event_summary(events, f, use_tally=True)
    assert before == dq.event_summary(events, f, use_tally=False) and before["overdue"] > 0
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE event_due_tally SET n_open = n_open + 1 "
                          "WHERE due_hour < date_trunc('hour', now() - interval '1 day', 'UTC')"
                          " AND rep_hour > now() - interval '20 days'"))
    skewed = dq.event_summary(events, f, use_tally=True)["overdue"]
    assert skewed > before["overdue"]
    dq.rebuild_tally(events)
    assert dq.event_summary(events, f, use_tally=True) == before
    with events.begin() as conn:  # escalated: a later time limit, and an older report's too
        conn.execute(text("UPDATE event SET due_at = now() + interval '2 hours' "
                          "WHERE id IN (SELECT id FROM event WHERE due_at < now() "
                          "AND status = 'reported' ORDER BY id LIMIT 5)"))
        conn.execute(text(  # falling due this hour, a moment ago
            "UPDATE event SET due_at = date_trunc('hour', now(), 'UTC') "
            "+ (now() - date_trunc('hour', now(), 'UTC')) / 2 "
            "WHERE id IN (SELECT id FROM event WHERE due_at > now() AND status = 'accepted' "
            "ORDER BY id LIMIT 4)"))
        conn.execute(text("UPDATE event SET status = 'closed' WHERE id IN (SELECT id FROM event "
                          "WHERE due_at < now() AND status = 'in_progress' ORDER BY id LIMIT 7)"))
    changed = dq.event_summary(events, f, use_tally=True)
    assert changed == dq.event_summary(events, f, use_tally=False) and changed != before
    rows = _due_rows(events)
    assert dq.compact_tally(events) > 0 and appended_counts(events) == 0
    assert dq.event_summary(events, f, use_tally=True) == changed
    with events.begin() as conn:
        conn.execute(text("UPDATE event SET status = 'closed'"))
    dq.compact_tally(events)
    assert 0 < rows and _due_rows(events) == 0
    assert dq.event_summary(events, f, use_tally=True)["overdue"] == 0
