"""Units visited per China Standard Time day (patrol_unit_day, migration 0016): kept right as
tracks are stored, re-stored and deleted, a track across midnight (北京时间) counted in no day
and answered from its clipped line; coverage of whole days equals the naive definition."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from support.visits import kept_days, naive_grids, walk
from support.workflow import W1, W2, clear_workflow

from gis.clock import CST, day_bounds
from gis.oversight import coverage
from gis.territory.locator import Locator

D = 30.0
DAY = date(2026, 11, 5)
AREA = "320508001"  # a street of the demo district


def cst(day: date, hour: int, minute: int = 0) -> datetime:
    """An instant of ``day`` in China Standard Time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


NEXT, THIRD = DAY + timedelta(days=1), DAY + timedelta(days=2)
# (worker, start, seed): the tracks of the fixture, 120 fixes a minute apart
TRACKS = [
    (W1, cst(DAY, 9), 1), (W2, cst(DAY, 14), 2),
    (W1, cst(DAY, 23), 3),                       # 23:00-00:59 across midnight: no day
    (W2, cst(NEXT, 10), 4),
    (W2, cst(NEXT, 22, 1), 5),                   # its last fix at 24:00 exactly: NEXT
    (W1, cst(THIRD, 0), 6),                      # its first fix at 00:00: THIRD
]


@pytest.fixture()
def days(demo_district, engine):
    """The demo district with the tracks of TRACKS; their ids in order."""
    clear_workflow(engine)
    loc = Locator(engine)
    return [walk(engine, loc, w, start, seed=seed) for w, start, seed in TRACKS]


def expected_days(engine: Engine) -> dict[tuple, int]:
    """(day, distance, unit id) → tracks, by the definition: the tracks whose fixes all lie in
    one CST day, each unit they pass within D metres (geography ST_DWithin) counted once."""
    out: dict[tuple, int] = {}
    with engine.connect() as conn:
        tracks = conn.execute(text(
            "SELECT id, started_at, ended_at FROM patrol_track ORDER BY id")).all()
        for tid, s, e in tracks:
            day = s.astimezone(CST).date()
            if e > day_bounds(day)[1]:
                continue
            for uid in conn.execute(text(
                    "SELECT u.id FROM unit u JOIN generation g ON g.id = u.generation_id "
                    "AND g.status = 'active' JOIN patrol_track p ON p.id = :t "
                    "AND ST_DWithin(ST_Force2D(p.geom)::geography, u.geom::geography, :d)"),
                    {"t": tid, "d": D}).scalars():
                out[(day, D, uid)] = out.get((day, D, uid), 0) + 1
    return out


def test_each_track_counts_in_its_cst_day(days, engine):
    """A track within one CST day counts in it (last fix at 24:00 included, first fix at
    00:00 in the new day); the track across midnight counts in none."""
    with engine.connect() as conn:
        got = dict(conn.execute(text(
            "SELECT track_id, day FROM patrol_track_indexed ORDER BY track_id")).all())
    assert got == dict(zip(days, [DAY, DAY, None, NEXT, NEXT, THIRD], strict=True))
    kept = kept_days(engine)
    assert kept == expected_days(engine)
    assert {k[0] for k in kept} == {DAY, NEXT, THIRD}


@pytest.mark.parametrize("first,last,area", [
    (DAY, NEXT, None), (NEXT, THIRD, None), (THIRD, THIRD + timedelta(days=1), None),
    (DAY, THIRD, None), (DAY - timedelta(days=1), THIRD + timedelta(days=2), None),
    (NEXT, THIRD, AREA), (DAY, THIRD, AREA),
])
def test_coverage_of_whole_days_equals_the_naive_definition(days, engine, first, last, area):
    """coverage for whole CST days (from the per-day table and the clipped track across
    midnight) == per-unit ST_DWithin of the clipped tracks, per grid."""
    since, until = day_bounds(first)[0], day_bounds(last)[0]
    assert coverage.whole_days(since, until) == (first, last)
    got = coverage.coverage(engine, since, until, area=area, distance_m=D)
    naive = naive_grids(engine, since, until, D, area)
    assert {g["grid"]: (g["units"], g["visited"]) for g in got["grids"]} == naive
    assert got["visited"] == sum(v for _n, v in naive.values()) > 0


def test_the_track_across_midnight_is_seen_on_both_days(days, engine):
    """The units only the 23:00-00:59 track passes after midnight are visited on the next
    day; the same units before it are not, unless another track of the day passed them."""
    since, until = day_bounds(NEXT)
    with engine.connect() as conn:
        after = {v["unit"] for v in coverage.unit_visits(conn, since, until, D, visited_only=True)}
        alone = {v["unit"] for v in coverage.unit_visits(
            conn, since, until, D, days=(NEXT, THIRD), visited_only=True)}
    assert alone and alone <= after  # the other tracks of NEXT come from the per-day table
    assert coverage.coverage(engine, since, until, distance_m=D)["visited"] == len(after)


def test_restored_and_deleted_tracks_are_counted_again(days, engine):
    """A track re-stored elsewhere, one moved to another day, one deleted: the per-day table
    follows (folded or not), and coverage still equals the naive definition."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE patrol_track SET geom = ST_Translate(geom, 0.002, 0.001) "
                          "WHERE id = :i"), {"i": days[0]})
        conn.execute(text(
            "UPDATE patrol_track SET started_at = started_at + interval '1 day', "
            "ended_at = ended_at + interval '1 day', geom = ST_SetSRID(ST_MakeLine(ARRAY("
            "SELECT ST_MakePointM(ST_X(d.geom), ST_Y(d.geom), ST_M(d.geom) + 86400) "
            "FROM ST_DumpPoints(geom) d ORDER BY d.path[1])), 4326) WHERE id = :i"),
            {"i": days[1]})
        conn.execute(text("DELETE FROM patrol_track WHERE id = :i"), {"i": days[3]})
    kept = kept_days(engine)
    assert kept == expected_days(engine)
    assert coverage.compact_days(engine) > 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patrol_unit_day_delta")).scalar() == 0
        assert conn.execute(text(
            "SELECT count(*) FROM patrol_unit_day WHERE tracks <= 0")).scalar() == 0
    assert kept_days(engine) == kept
    for first in (DAY, NEXT):
        since, until = day_bounds(first)
        got = coverage.coverage(engine, since, until, distance_m=D)
        assert {g["grid"]: (g["units"], g["visited"]) for g in got["grids"]} == naive_grids(
            engine, since, until, D)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM patrol_track"))
    coverage.compact_days(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patrol_unit_day")).scalar() == 0


def test_rebuild_and_other_distances(days, engine):
    """Rebuilding gives the kept counts; coverage at a distance not indexed, or a period not
    made of whole days, is answered the query-time way with the naive answer."""
    kept = kept_days(engine)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT patrol_unit_day_rebuild()")).scalar() == len(kept)
    assert kept_days(engine) == kept
    since, until = day_bounds(DAY)
    for s, u, d in ((since, until, 45.0), (since + timedelta(hours=10), until, D)):
        got = coverage.coverage(engine, s, u, distance_m=d)
        assert {g["grid"]: (g["units"], g["visited"]) for g in got["grids"]} == naive_grids(
            engine, s, u, d)
    assert coverage.whole_days(since + timedelta(hours=10), until) is None
