"""Patrol tracks uploaded from a phone in numbered chunks, and the tracks read back.

Contract (``POST /api/v1/patrols/chunks``, ``GET /api/v1/patrols/tracks[/{uid}]``):

- The phone makes the track's uid (a UUID) when the patrol starts and sends its fixes in
  chunks numbered ``seq`` = 0, 1, 2, ... (0 <= seq < 100000, 1..2000 fixes each; the last one
  with ``final`` true). Chunks may arrive in any order, and any number of times.
- A chunk is stored once per (uid, seq). The same chunk sent again (same worker, fixes after
  conversion and dropping, and ``final``) changes nothing and answers ``replayed`` true; a
  different chunk under a stored (uid, seq) is refused: Conflict ``chunk_conflict``. A chunk
  whose worker is not the worker of the track's earlier chunks (or of a track stored with
  that uid by ``POST /api/v1/patrols``): Conflict ``track_worker_mismatch``; a uid of a track
  posted whole: Conflict ``track_uid_taken``. (gis/api/errors.py maps the error classes.)
- Each fix: lon, lat in the chunk's ``crs`` (wgs84, gcj02, bd09, cgcs2000; converted to and
  stored in WGS84), time ``t`` (naive = UTC+8), optional ``acc`` (metres). Within a chunk the
  times must not go backwards (InvalidInput ``time_order`` naming ``fixes[i].t``); bad
  coordinates are InvalidInput naming ``fixes[i].lon`` / ``fixes[i].lat``. Fixes with
  acc > 100 m are dropped and counted (``dropped``); a chunk may end up with no fixes (it
  still counts as received).
- After each new chunk, in the same transaction (one chunk of a track at a time: an advisory
  lock on the uid), the track (``patrol_track`` with uid = the chunk's uid: a first-class
  track for coverage, unvisited units, patrols due and assessment) is rebuilt from the fixes
  of all its chunks sorted by time (ties: by seq, then by place in the chunk); a run of fixes
  at the same position (standing still) keeps its first and last fix. The track exists once
  its fixes hold 2 distinct positions; before that ``track`` is null. Its id stays the same
  across rebuilds; its grid is the grid most of its fixes fall in.
- The answer: ``track_uid``, ``seq``, ``replayed``, ``dropped``, ``chunks`` (how many are
  stored), ``missing`` (seqs below the highest stored one not received yet), ``track``:
  {id, uid, worker, grid, points (vertices kept), length_m, started_at, ended_at, final (a
  final chunk was received)} or null.
- Reads: the tracks overlapping one day (China Standard Time) as a GeoJSON FeatureCollection
  of LineStrings (properties id, uid, worker, grid, started_at, ended_at, length_m, points,
  final), and one track by uid. A grid worker sees only their own tracks; dispatchers the
  tracks whose main grid lies in their area or whose worker holds a current role there; the
  district centre all; planners and departments none. A track outside the caller's area does
  not exist for them (NotFound ``track_not_found``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field
from sqlalchemy import Connection, Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.access.auth import Principal
from gis.clock import CST, day_bounds
from gis.db.queries import q
from gis.errors import Conflict, InvalidInput, NotFound, UnknownReference
from gis.geo.datum import to_wgs84
from gis.intake import patrols
from gis.territory.locator import Locator, datum_or_error

SQL = "patrol_chunks.sql"
PKG = "gis.intake.sql"
MAX_FIXES = 2000
MAX_SEQ = 100_000
MAX_ACC_M = 100.0  # fixes less accurate than this are dropped


@dataclass
class ChunkFix(patrols.Fix):
    """One GPS fix of a chunk, with the phone's accuracy estimate (metres) if it gave one."""

    acc: float | None = None


@dataclass
class Chunk:
    """One numbered chunk of a phone's track."""

    track_uid: str
    seq: int
    worker: str
    fixes: list[ChunkFix] = field(default_factory=list)
    crs: str = "wgs84"
    final: bool = False


class ChunkTrack(TypedDict):
    """The track as rebuilt from the chunks received so far."""

    id: int
    uid: str
    worker: str
    grid: str | None
    points: int
    length_m: float
    started_at: datetime
    ended_at: datetime
    final: bool


class ChunkStored(TypedDict):
    """The answer to a chunk (``ingest_chunk``): stored or replayed, and the track so far
    (null: fewer than 2 places)."""

    track_uid: str
    seq: int
    replayed: bool
    dropped: Annotated[int, Field(description="Fixes dropped for acc > 100 m.")]
    chunks: Annotated[int, Field(description="Chunks of this track stored.")]
    missing: Annotated[list[int], Field(
        description="Seqs below the highest one not received.")]
    track: ChunkTrack | None


class TrackProperties(TypedDict):
    """Properties of a track feature."""

    id: int
    uid: str
    worker: str
    grid: str | None
    started_at: datetime
    ended_at: datetime
    length_m: float
    points: int
    final: bool


class TrackFeature(TypedDict):
    """A patrol track as a GeoJSON feature (LineString, WGS84)."""

    type: Literal["Feature"]
    id: int
    geometry: dict[str, Any]
    properties: TrackProperties


class TrackCollection(TypedDict):
    """A worker's tracks of one day as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"]
    day: str
    worker: str | None
    features: list[TrackFeature]


def _check_chunk(chunk: Chunk) -> str:
    """The chunk's uid in canonical form; InvalidInput naming the first bad field."""
    try:
        uid = str(uuid.UUID(str(chunk.track_uid)))
    except ValueError:
        raise InvalidInput.field("track_uid", f"not a UUID: {chunk.track_uid!r} (不是有效的 UUID)",
                                 "bad_uid") from None
    if not 0 <= chunk.seq < MAX_SEQ:
        raise InvalidInput.field("seq", f"must be between 0 and {MAX_SEQ - 1} (序号超出范围)",
                                 "out_of_range")
    if not 1 <= len(chunk.fixes) <= MAX_FIXES:
        raise InvalidInput.field("fixes", f"a chunk holds 1 to {MAX_FIXES} fixes, got "
                                 f"{len(chunk.fixes)} (每段定位点数量须为 1 到 {MAX_FIXES})",
                                 "bad_chunk_size")
    patrols.check_fixes(list(chunk.fixes), "fixes")
    for i, f in enumerate(chunk.fixes):
        if f.acc is not None and not (np.isfinite(f.acc) and f.acc >= 0):
            raise InvalidInput.field(f"fixes[{i}].acc", f"must be a number >= 0, got {f.acc!r} "
                                     "(精度须为非负数)", "out_of_range")
    return uid


def _chunk_fixes(chunk: Chunk) -> tuple[list[list[float]], int]:
    """The fixes to store ([lon, lat, epoch] in WGS84) and how many were dropped (acc)."""
    kept = [f for f in chunk.fixes if f.acc is None or f.acc <= MAX_ACC_M]
    if not kept:
        return [], len(chunk.fixes)
    lon, lat = to_wgs84(np.array([f.lon for f in kept], dtype=float),
                        np.array([f.lat for f in kept], dtype=float), datum_or_error(chunk.crs))
    out = [[float(x), float(y), f.t.timestamp()]
           for x, y, f in zip(lon.tolist(), lat.tolist(), kept, strict=True)]
    return out, len(chunk.fixes) - len(kept)


def _vertices(rows: list[Any]) -> list[tuple[float, float, float]]:
    """Every chunk's fixes sorted by time (ties: seq, place); still runs kept at both ends."""
    pts = sorted((f[2], r.seq, i, f[0], f[1]) for r in rows for i, f in enumerate(r.fixes))
    pos = [(round(p[3], 9), round(p[4], 9)) for p in pts]
    n = len(pts)
    return [(pts[i][3], pts[i][4], pts[i][0]) for i in range(n)
            if i in (0, n - 1) or pos[i] != pos[i - 1] or pos[i] != pos[i + 1]]


def _rebuild(conn: Connection, locator: Locator, uid: str, wid: int, crs: str) -> None:
    """(Re)build track ``uid`` from its chunks once they hold 2 distinct positions."""
    rows = conn.execute(q(SQL, "chunk_fixes", PKG), {"uid": uid}).all()
    v = _vertices(rows)
    if len({(round(x, 9), round(y, 9)) for x, y, _m in v}) < 2:
        return
    lon, lat, ms = (list(c) for c in zip(*v, strict=True))
    conn.execute(q(SQL, "upsert_track", PKG), {
        "uid": uid, "w": wid, "g": patrols.main_grid(locator, np.array(lon), np.array(lat)),
        "s": datetime.fromtimestamp(ms[0], UTC), "e": datetime.fromtimestamp(ms[-1], UTC),
        "wkt": patrols.line_wkt(lon, lat, ms), "crs": crs})


def _worker_id(conn: Connection, worker: str) -> int:
    """The id of worker ``worker``; UnknownReference naming the field otherwise."""
    wid = conn.execute(q(patrols.SQL, "worker_id", PKG), {"c": worker}).scalar()
    if wid is None:
        raise UnknownReference(f"worker: no worker {worker!r} (没有这个网格员)",
                               code="unknown_worker",
                               details=[{"field": "worker", "reason": "no such worker"}])
    return int(wid)


def _check_owner(conn: Connection, uid: str, wid: int) -> None:
    """Conflict unless track ``uid`` is new or the worker's own chunked track."""
    own = conn.execute(q(SQL, "track_owner", PKG), {"uid": uid}).one()
    if own.chunk_worker is None and own.track_worker is not None:
        raise Conflict("track_uid: a track with this uid was posted whole; start a new uid "
                       "(该轨迹编号已被使用)", code="track_uid_taken",
                       details=[{"field": "track_uid", "reason": "taken by another track"}])
    if any(w is not None and w != wid for w in (own.chunk_worker, own.track_worker)):
        raise Conflict("worker: the track's earlier chunks are of another worker "
                       "(轨迹的其他分段属于另一名网格员)", code="track_worker_mismatch",
                       details=[{"field": "worker", "reason": "not the track's worker"}])


def _state(conn: Connection, uid: str, chunk: Chunk, replayed: bool,
           dropped: int) -> ChunkStored:
    """The answer: chunks received, seqs missing and the track as stored now."""
    st = conn.execute(q(SQL, "chunk_state", PKG), {"uid": uid}).one()
    seqs = list(st.seqs)
    have = set(seqs)
    missing = [s for s in range(seqs[-1]) if s not in have] if seqs else []
    found = _read(conn, {"uid": uid})
    track: ChunkTrack | None = None
    if found:
        p = found[0]["properties"]
        track = {"id": p["id"], "uid": p["uid"], "worker": p["worker"], "grid": p["grid"],
                 "points": p["points"], "length_m": p["length_m"],
                 "started_at": p["started_at"], "ended_at": p["ended_at"], "final": p["final"]}
    return {"track_uid": uid, "seq": chunk.seq, "replayed": replayed, "dropped": dropped,
            "chunks": len(seqs), "missing": missing, "track": track}


def ingest_chunk(engine: Engine, locator: Locator, chunk: Chunk,
                 on_stored: Callable[[Connection, str], None] | None = None) -> ChunkStored:
    """Store one chunk (once) and rebuild its track, in one transaction.

    ``on_stored(conn, uid)`` runs inside that transaction when the chunk is new (the audit).
    """
    uid = _check_chunk(chunk)
    datum = datum_or_error(chunk.crs)
    fixes, dropped = _chunk_fixes(chunk)
    doc = json.dumps(fixes)
    with engine.begin() as conn:
        conn.execute(q(SQL, "lock_track", PKG), {"uid": uid})
        wid = _worker_id(conn, chunk.worker)
        old = conn.execute(q(SQL, "chunk_same", PKG), {
            "uid": uid, "seq": chunk.seq, "fixes": doc, "final": chunk.final}).first()
        if old is not None:
            if old.worker_id != wid or not old.same:
                raise Conflict(f"chunk {chunk.seq} of this track was received with other "
                               "fixes (该分段已收到，内容不同)", code="chunk_conflict",
                               details=[{"field": "seq", "reason": "already received, "
                                         "different content"}])
            return _state(conn, uid, chunk, True, dropped)
        _check_owner(conn, uid, wid)
        conn.execute(q(SQL, "insert_chunk", PKG), {
            "uid": uid, "seq": chunk.seq, "w": wid, "fixes": doc, "final": chunk.final})
        _rebuild(conn, locator, uid, wid, datum.value)
        if on_stored is not None:
            on_stored(conn, uid)
        return _state(conn, uid, chunk, False, dropped)


def _visibility(who: Principal) -> dict[str, Any] | None:
    """The bound parameters limiting track reads to the caller's (None: nothing visible)."""
    if who.role == "grid_worker":
        return {"own": who.worker_code, "prefixes": None} if who.worker_code else None
    prefixes = who.scope_prefixes
    if prefixes == []:
        return None
    return {"own": None, "prefixes": prefixes}


def _read(conn: Connection, params: dict[str, Any],
          who: Principal | None = None) -> list[TrackFeature]:
    """Tracks matching ``params`` (uid, since, until, worker) visible to ``who`` (None: all)."""
    vis = _visibility(who) if who is not None else {"own": None, "prefixes": None}
    if vis is None:
        return []
    p = {"uid": None, "since": None, "until": None, "worker": None} | params | vis
    out: list[TrackFeature] = []
    for r in conn.execute(q(SQL, "tracks", PKG), p).mappings():
        props = TrackProperties(id=r["id"], uid=r["uid"], worker=r["worker"], grid=r["grid"],
                                started_at=r["started_at"], ended_at=r["ended_at"],
                                length_m=r["length_m"], points=r["points"], final=r["final"])
        out.append({"type": "Feature", "id": r["id"], "geometry": json.loads(r["geometry"]),
                    "properties": props})
    return out


def tracks_of_day(engine: Engine, who: Principal, day: date | None = None,
                  worker: str | None = None) -> TrackCollection:
    """The tracks overlapping ``day`` (CST; default today) the caller may see, of ``worker``."""
    day = day or datetime.now(CST).date()
    since, until = day_bounds(day)
    with engine.connect() as conn:
        feats = _read(conn, {"since": since, "until": until, "worker": worker}, who)
    return {"type": "FeatureCollection", "day": day.isoformat(), "worker": worker,
            "features": feats}


def track_by_uid(engine: Engine, who: Principal, uid: str) -> TrackFeature:
    """One track the caller may see; NotFound (as if absent) otherwise."""
    try:
        key = str(uuid.UUID(str(uid)))
    except ValueError:
        key = None
    with engine.connect() as conn:
        found = _read(conn, {"uid": key}, who) if key else []
    if not found:
        raise NotFound(f"no track {uid} (轨迹不存在)", code="track_not_found")
    return found[0]
