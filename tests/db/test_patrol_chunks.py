"""Patrol tracks uploaded in chunks: out of order, replayed, refused, rebuilt as real tracks."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from support.workflow import CENTRE, G1, G2, W1, W2, clear_workflow, unit_point

from gis.access.auth import Principal
from gis.clock import CST
from gis.errors import Conflict, InvalidInput, NotFound, UnknownReference
from gis.geo.datum import from_wgs84
from gis.intake import patrol_chunks as pc
from gis.intake import patrols
from gis.oversight import coverage
from gis.territory.locator import Locator

T0 = datetime(2026, 11, 5, 1, 0, tzinfo=UTC)  # 09:00 CST


@pytest.fixture()
def loc(demo_district, engine):
    """A locator on the demo district."""
    clear_workflow(engine)
    return Locator(engine)


def _walk(engine, unit: str, n: int, start: datetime = T0, step_s: int = 5) -> list[pc.ChunkFix]:
    """``n`` fixes walking east through ``unit``, one every ``step_s`` seconds."""
    lon, lat = unit_point(engine, unit)
    return [pc.ChunkFix(lon + i * 0.00002, lat, start + timedelta(seconds=i * step_s))
            for i in range(n)]


def _chunks(uid: str, fixes: list[pc.ChunkFix], size: int, worker: str = W1) -> list[pc.Chunk]:
    """The fixes cut into chunks of ``size``; the last one final."""
    parts = [fixes[i:i + size] for i in range(0, len(fixes), size)]
    return [pc.Chunk(uid, k, worker, list(p), final=k == len(parts) - 1)
            for k, p in enumerate(parts)]


def _track(engine, uid: str) -> dict | None:
    """The stored patrol_track row of ``uid`` (geometry as EWKT)."""
    with engine.connect() as conn:
        r = conn.execute(text(
            "SELECT id, grid_code, started_at, ended_at, length_m, ST_AsEWKT(geom) AS wkt, "
            "received_at FROM patrol_track WHERE uid = CAST(:u AS uuid)"), {"u": uid}).mappings()
        row = r.first()
    return dict(row) if row else None


def _count(engine, table: str) -> int:
    """Rows in ``table``."""
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_out_of_order_chunks_build_the_same_track_as_in_order(engine, loc):
    """Chunks 3, 0, 2, 1 give the very track of chunks 0, 1, 2, 3 (geometry, times, grid)."""
    fixes = _walk(engine, G1 + "001", 40)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    for c in _chunks(a, fixes, 10):
        last = pc.ingest_chunk(engine, loc, c)
    order = _chunks(b, fixes, 10)
    answers = [pc.ingest_chunk(engine, loc, order[k]) for k in (3, 0, 2, 1)]
    assert answers[0]["missing"] == [0, 1, 2] and answers[0]["track"]["final"] is True
    assert answers[-1]["missing"] == [] and answers[-1]["chunks"] == 4
    ta, tb = _track(engine, a), _track(engine, b)
    assert ta["wkt"] == tb["wkt"] and ta["grid_code"] == tb["grid_code"] == G1
    assert (ta["started_at"], ta["ended_at"]) == (tb["started_at"], tb["ended_at"]) \
        == (T0, T0 + timedelta(seconds=39 * 5))
    assert last["track"]["points"] == answers[-1]["track"]["points"] == 40
    assert last["track"]["length_m"] == answers[-1]["track"]["length_m"] > 50
    assert _count(engine, "patrol_track") == 2 and _count(engine, "patrol_chunk") == 8


def test_a_replayed_chunk_changes_nothing_and_a_different_one_is_refused(engine, loc):
    """Same (uid, seq, fixes): replayed, nothing written; other fixes: 409 chunk_conflict."""
    uid = str(uuid.uuid4())
    c0, c1 = _chunks(uid, _walk(engine, G1 + "001", 20), 10)
    pc.ingest_chunk(engine, loc, c0)
    first = pc.ingest_chunk(engine, loc, c1)
    before = _track(engine, uid)
    again = pc.ingest_chunk(engine, loc, c1)
    assert again["replayed"] is True and first["replayed"] is False
    assert again["track"] == first["track"] and _track(engine, uid) == before
    assert _count(engine, "patrol_chunk") == 2
    other = pc.Chunk(uid, 1, W1, [pc.ChunkFix(f.lon + 0.0001, f.lat, f.t) for f in c1.fixes])
    with pytest.raises(Conflict) as e:
        pc.ingest_chunk(engine, loc, other)
    assert e.value.code == "chunk_conflict" and _track(engine, uid) == before
    with pytest.raises(Conflict) as e:  # the same fixes, but no longer the final chunk
        pc.ingest_chunk(engine, loc, pc.Chunk(uid, 1, W1, c1.fixes, final=False))
    assert e.value.code == "chunk_conflict"


def test_a_single_fix_chunk_gives_no_track_until_a_second_place(engine, loc):
    """One fix: track null; a second chunk at another place: the track exists."""
    uid = str(uuid.uuid4())
    f = _walk(engine, G1 + "001", 2)
    one = pc.ingest_chunk(engine, loc, pc.Chunk(uid, 0, W1, [f[0]]))
    assert one["track"] is None and one["chunks"] == 1 and _track(engine, uid) is None
    two = pc.ingest_chunk(engine, loc, pc.Chunk(uid, 1, W1, [f[1]]))
    assert two["track"]["points"] == 2 and two["track"]["worker"] == W1
    assert two["track"]["uid"] == uid and two["track"]["grid"] == G1


def test_standing_still_does_not_fail_and_keeps_the_ends_of_the_stay(engine, loc):
    """200 fixes at one place: no track, no error; then walking: the stay's ends kept."""
    uid = str(uuid.uuid4())
    lon, lat = unit_point(engine, G1 + "001")
    still = [pc.ChunkFix(lon, lat, T0 + timedelta(seconds=i)) for i in range(200)]
    assert pc.ingest_chunk(engine, loc, pc.Chunk(uid, 0, W1, still))["track"] is None
    walk = _walk(engine, G1 + "001", 5, T0 + timedelta(seconds=300))[1:]
    out = pc.ingest_chunk(engine, loc, pc.Chunk(uid, 1, W1, walk, final=True))
    assert out["track"]["points"] == 2 + 4
    assert out["track"]["started_at"] == T0 and out["track"]["final"] is True


def test_inaccurate_fixes_are_dropped_and_counted(engine, loc):
    """acc > 100 m: dropped (counted); acc <= 100 or none: kept."""
    uid = str(uuid.uuid4())
    f = _walk(engine, G1 + "001", 4)
    f[1].acc, f[2].acc, f[3].acc = 150.0, 100.0, 5.0
    out = pc.ingest_chunk(engine, loc, pc.Chunk(uid, 0, W1, f))
    assert out["dropped"] == 1 and out["track"]["points"] == 3
    bad = pc.Chunk(str(uuid.uuid4()), 0, W1, [pc.ChunkFix(f[0].lon, f[0].lat, T0, 500.0)])
    only = pc.ingest_chunk(engine, loc, bad)
    assert only["dropped"] == 1 and only["track"] is None and only["chunks"] == 1


def test_bad_fixes_are_refused_naming_the_field(engine, loc):
    """Coordinates out of range, times going backwards, seq, uid, unknown worker."""
    f = _walk(engine, G1 + "001", 5)
    uid = str(uuid.uuid4())
    cases = [
        (pc.Chunk(uid, 0, W1, f[:3] + [pc.ChunkFix(f[3].lon, 95.0, f[3].t)]), "fixes[3].lat"),
        (pc.Chunk(uid, 0, W1, [f[2], f[1]]), "fixes[1].t"),
        (pc.Chunk(uid, -1, W1, f), "seq"),
        (pc.Chunk("not-a-uuid", 0, W1, f), "track_uid"),
        (pc.Chunk(uid, 0, W1, []), "fixes"),
        (pc.Chunk(uid, 0, W1, f, crs="mars"), "crs"),
    ]
    for chunk, field in cases:
        with pytest.raises(InvalidInput) as e:
            pc.ingest_chunk(engine, loc, chunk)
        assert e.value.details[0]["field"] == field, (field, e.value.details)
    with pytest.raises(UnknownReference):
        pc.ingest_chunk(engine, loc, pc.Chunk(uid, 0, "nobody", f))
    assert _count(engine, "patrol_chunk") == 0


def test_a_chunk_of_another_worker_or_of_a_whole_track_uid_is_refused(engine, loc):
    """The track's worker is fixed by its first chunk; a uid of a posted track is taken."""
    uid = str(uuid.uuid4())
    f = _walk(engine, G1 + "001", 6)
    pc.ingest_chunk(engine, loc, pc.Chunk(uid, 0, W1, f[:3]))
    with pytest.raises(Conflict) as e:
        pc.ingest_chunk(engine, loc, pc.Chunk(uid, 1, W2, f[3:]))
    assert e.value.code == "track_worker_mismatch"
    whole = patrols.ingest_track(engine, loc, W1, f[:2])
    with pytest.raises(Conflict) as e:
        pc.ingest_chunk(engine, loc, pc.Chunk(whole["uid"], 0, W1, f[2:]))
    assert e.value.code == "track_uid_taken"


def test_gcj02_chunks_are_stored_in_wgs84(engine, loc):
    """Fixes sent in GCJ-02 land where the WGS84 fixes are (within a metre)."""
    f = _walk(engine, G1 + "001", 3)
    gx, gy = from_wgs84([x.lon for x in f], [x.lat for x in f], "gcj02")
    g = [pc.ChunkFix(float(x), float(y), p.t) for x, y, p in zip(gx, gy, f, strict=True)]
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    pc.ingest_chunk(engine, loc, pc.Chunk(a, 0, W1, f))
    pc.ingest_chunk(engine, loc, pc.Chunk(b, 0, W1, g, crs="gcj02"))
    with engine.connect() as conn:
        d = conn.execute(text(
            "SELECT ST_HausdorffDistance(a.geom::geography::geometry, b.geom) FROM patrol_track a, "
            "patrol_track b WHERE a.uid = CAST(:a AS uuid) AND b.uid = CAST(:b AS uuid)"),
            {"a": a, "b": b}).scalar_one()
    assert d < 1e-5


def test_concurrent_chunks_of_one_track_all_land(engine, loc):
    """Eight chunks sent at once from eight threads: all stored, the track holds them all."""
    uid = str(uuid.uuid4())
    chunks = _chunks(uid, _walk(engine, G1 + "001", 80), 10)
    errors: list[Exception] = []

    def send(c: pc.Chunk) -> None:
        try:
            pc.ingest_chunk(engine, loc, c)
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=send, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        n = conn.execute(text("SELECT ST_NPoints(geom) FROM patrol_track "
                              "WHERE uid = CAST(:u AS uuid)"), {"u": uid}).scalar_one()
    assert n == 80


def test_a_chunked_track_counts_for_coverage_and_patrols_done(engine, loc):
    """The track built from chunks is a patrol_track like any other: coverage, done."""
    uid = str(uuid.uuid4())
    for c in _chunks(uid, _walk(engine, G1 + "001", 12), 4):
        pc.ingest_chunk(engine, loc, c)
    cov = coverage.coverage(engine, T0 - timedelta(minutes=1), T0 + timedelta(hours=1),
                            area=G1, worker=W1)
    assert cov["visited"] >= 1
    due = coverage.patrols_due(engine, T0.astimezone(CST).date(), W1)
    assert [(d["grid"], d["done"]) for d in due] == [(G1, 1)]


def test_tracks_of_a_day_in_china_standard_time_and_by_area(engine, loc):
    """Day bounds are CST; a grid worker sees their own, dispatchers their area's."""
    late = datetime(2026, 11, 5, 15, 30, tzinfo=UTC)   # 23:30 CST on the 5th
    early = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)  # 00:30 CST on the 6th
    ids = {}
    for name, worker, unit, start in (("late", W1, G1 + "001", late),
                                      ("early", W1, G1 + "002", early),
                                      ("w2", W2, G2 + "001", late)):
        uid = str(uuid.uuid4())
        pc.ingest_chunk(engine, loc, pc.Chunk(uid, 0, worker, _walk(engine, unit, 3, start)))
        ids[name] = uid
    day5, day6 = late.astimezone(CST).date(), early.astimezone(CST).date()
    own = Principal("grid_worker", (G1,), W1)

    def uids(who, day, worker=None) -> list[str]:
        fc = pc.tracks_of_day(engine, who, day, worker)
        assert fc["type"] == "FeatureCollection"
        return [x["properties"]["uid"] for x in fc["features"]]

    assert uids(own, day5, W1) == [ids["late"]] and uids(own, day6, W1) == [ids["early"]]
    assert uids(own, day5) == [ids["late"]]  # a grid worker: only their own, always
    assert uids(own, day5, W2) == []
    assert sorted(uids(CENTRE, day5)) == sorted([ids["late"], ids["w2"]])
    community = Principal("community_dispatcher", ("320508001001",))
    assert sorted(uids(community, day5)) == sorted([ids["late"], ids["w2"]])
    other = Principal("community_dispatcher", ("320508002001",))
    assert uids(other, day5) == [] and uids(Principal("planner"), day5) == []
    feat = pc.tracks_of_day(engine, CENTRE, day6)["features"][0]
    assert feat["geometry"]["type"] == "LineString" and len(feat["geometry"]["coordinates"]) == 3
    assert pc.track_by_uid(engine, own, ids["late"])["properties"]["worker"] == W1
    for who, uid in ((own, ids["w2"]), (other, ids["late"]), (CENTRE, str(uuid.uuid4()))):
        with pytest.raises(NotFound):
            pc.track_by_uid(engine, who, uid)


def test_due_units_have_a_name_and_a_place_inside_them(engine, loc):
    """Reminders list each unvisited unit with its name, last visit and a point inside it."""
    day = datetime.now(CST).date()
    rem = {r["worker"]: r for r in coverage.reminders(engine, day, area=G1)}
    units = rem[W1]["units"]
    assert [u["unit"] for u in units] == rem[W1]["unvisited_units"] and len(units) == 9
    with engine.connect() as conn:
        for u in units:
            assert u["name"] and u["grid_code"] == G1 and u["last_visit"] is None
            inside = conn.execute(text(
                "SELECT ST_Contains(geom, ST_SetSRID(ST_Point(:x, :y), 4326)) FROM unit u "
                "JOIN generation g ON g.id = u.generation_id AND g.status = 'active' "
                "WHERE u.code = :c"), {"x": u["lon"], "y": u["lat"], "c": u["unit"]}).scalar()
            assert inside, u
