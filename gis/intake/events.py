"""Event intake: validate, locate, store durably with history, once per Idempotency-Key."""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, NotRequired

import psycopg2.errors
from psycopg2.extras import Json
from sqlalchemy import Connection, Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis import calendar, rulebook
from gis.access import auth
from gis.access.auth import Principal
from gis.db.queries import q
from gis.db.sqlfiles import read_sql, strip_comments
from gis.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    Unauthorized,
    Unavailable,
    WanggeError,
)
from gis.intake import catalogue
from gis.territory.locate import NothingToLocate, Place, PlaceNotFound, locate_place
from gis.territory.locator import Location, Locator

SQL = "events.sql"
PKG = "gis.intake.sql"
SOURCES = ("worker", "resident", "camera", "hotline", "department", "other")
STATUSES = ("reported", "accepted", "dispatched", "in_progress", "resolved", "closed",
            "rejected", "duplicate", "reopened")
OPEN_STATUSES = ("reported", "accepted", "dispatched", "in_progress", "resolved", "reopened")


@dataclass
class Report:
    """One incoming report, as parsed from the API or the CLI."""

    item: str
    source: str = "resident"
    lon: float | None = None
    lat: float | None = None
    crs: str | None = "wgs84"
    building_id: str | int | None = None
    address: str | None = None
    camera_code: str | None = None
    description: str = ""
    reporter: str | None = None
    reported_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class IntakeResult(NamedTuple):
    """What storing reports gave: the HTTP status, the stored events, whether replayed."""

    status: int
    events: list[dict[str, Any]]
    replayed: bool


class DispatchRecord(TypedDict):
    """A dispatch record of an event: handler, whistle or department notification
    (``dispatch_records``)."""

    id: int
    at: datetime
    kind: str
    level: str | None
    area_code: str | None
    department: str | None
    actor: str | None
    note: str | None
    acknowledged_at: datetime | None


class HistoryEntry(TypedDict):
    """One step of an event's history (an event_history row)."""

    at: datetime
    action: str
    from_status: str | None
    to_status: str | None
    actor: str | None
    note: str | None
    data: dict[str, Any]


class EventRow(TypedDict):
    """One event of a list (``list_events``)."""

    id: int
    uid: str
    item_code: str
    class_code: str
    source: str
    description: str | None
    reported_at: datetime
    lon: float | None
    lat: float | None
    location_status: str
    location_method: str | None
    grid_code: str | None
    unit_code: str | None
    community_code: str | None
    street_code: str | None
    worker: str | None
    status: str
    level: str
    due_at: datetime | None


class EventDetail(TypedDict):
    """One event (``get_event``), with its history and dispatch records when asked for."""

    id: int
    uid: str
    item_code: str
    class_code: str
    source: str
    reporter: str | None
    description: str | None
    reported_at: datetime
    received_at: datetime
    lon: float | None
    lat: float | None
    input_lon: float | None
    input_lat: float | None
    input_crs: str | None
    building_id: int | None
    address: str | None
    location_status: str
    location_method: str | None
    distance_m: float | None
    generation_id: int | None
    street_code: str | None
    community_code: str | None
    grid_code: str | None
    unit_code: str | None
    worker: str | None
    status: str
    level: str
    due_at: datetime | None
    updated_at: datetime
    closed_at: datetime | None
    history: NotRequired[list[HistoryEntry]]
    dispatch: NotRequired[list[DispatchRecord]]


class _Catalogue:
    """Active catalogue items, cached briefly."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, catalogue.ActiveItem]] = {}
        self.loaded: dict[str, float] = {}

    def get(self, engine: Engine, code: str) -> catalogue.ActiveItem | None:
        """Item by code, reloading the cache on a miss or when older than 30 s."""
        key = str(engine.url)
        items = self.items.get(key, {})
        if code not in items or time.monotonic() - self.loaded.get(key, 0.0) > 30:
            with engine.connect() as conn:
                items = self.items[key] = catalogue.active_items(conn)
            self.loaded[key] = time.monotonic()
        return items.get(code)


    def fresh(self, engine: Engine, codes: set[str]) -> bool:
        """Whether ``get`` answers every code from memory (no reload due)."""
        key = str(engine.url)
        items = self.items.get(key, {})
        return (time.monotonic() - self.loaded.get(key, -1e9) <= 30
                and all(c in items for c in codes))


_catalogue = _Catalogue()


def in_memory(engine: Engine, locator: Locator, reports: list[Report]) -> bool:
    """Whether ``prepare_request`` needs no database round trip for ``reports`` (located by
    coordinates, no camera code, the catalogue and the boundaries loaded and fresh), so that
    it may run in the event loop."""
    return (all(r.lon is not None and not r.camera_code for r in reports)
            and locator.fresh and _catalogue.fresh(engine, {r.item for r in reports}))


def request_hash(payload: Any) -> str:
    """Stable hash of a request body (for Idempotency-Key reuse checks)."""
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()


def _locate(locator: Locator, r: Report, prefix: str, at: datetime) -> Location:
    """Locate one report; an unknown address or nothing to locate by is stored unassigned."""
    place = Place(r.lon, r.lat, r.crs, r.building_id, r.address)
    try:
        return locate_place(locator, place, at=at, prefix=prefix)
    except PlaceNotFound as err:
        if err.method != "address":
            raise
        return Location(None, None, "unassigned", method="address",
                        generation=locator.snapshot.generation,
                        input={"address": r.address, "reason": "address not found"})
    except NothingToLocate:
        return Location(None, None, "unassigned", method="none",
                        generation=locator.snapshot.generation,
                        input={"reason": "no location given"})


def _prepare(engine: Engine, locator: Locator, reports: list[Report],
             now: datetime) -> list[tuple[Report, Location, tuple[str, str, float]]]:
    """Validate and locate every report; all problems are collected into one InvalidInput."""
    out = []
    errors: list[dict[str, str]] = []
    for i, r in enumerate(reports):
        prefix = f"events[{i}]." if len(reports) > 1 else ""
        try:
            item = _catalogue.get(engine, r.item)
            if item is None:
                raise InvalidInput.field(prefix + "item", f"unknown event item {r.item!r} "
                                         "(see GET /api/v1/catalogue)", "unknown_item")
            if r.source not in SOURCES:
                raise InvalidInput.field(prefix + "source", f"must be one of {', '.join(SOURCES)}",
                                         "unknown_source")
            at = r.reported_at or now
            if at > now + timedelta(minutes=10):
                raise InvalidInput.field(prefix + "reported_at", "is in the future", "future_time")
            out.append((r, _locate(locator, r, prefix, now), item))
        except WanggeError as e:
            errors.extend(e.details or [{"field": prefix or "body", "reason": e.message}])
            if len(reports) == 1:
                raise
    if errors:
        raise InvalidInput(
            f"{len(errors)} problem(s) in the batch; nothing was stored: "
            + "; ".join(f"{d['field']}: {d['reason']}" for d in errors[:5]),
            code="invalid_batch", details=errors,
        )
    return out


def _camera_ids(engine: Engine, reports: list[Report]) -> dict[str, int]:
    """Camera ids for the camera codes named in the reports (unknown ones are an error)."""
    codes = sorted({r.camera_code for r in reports if r.camera_code})
    if not codes:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "camera_ids", PKG), {"c": codes}).all()
    found = {r.code: r.id for r in rows}
    for i, r in enumerate(reports):
        if r.camera_code and r.camera_code not in found:
            p = f"events[{i}]." if len(reports) > 1 else ""
            raise InvalidInput.field(p + "camera_code", f"unknown camera {r.camera_code!r}",
                                     "unknown_camera")
    return found


_COLUMNS = 30  # the arrays $1 … $30 of events_store.sql, one element per report
_REQUEST_COLUMNS = 7  # the arrays $32 … $38, one element per request


@dataclass
class StoreRequest:
    """One request's validated, located rows, ready to be stored alone or in a group."""

    rows: list[tuple]
    prepared: list[tuple[Report, Location, tuple[str, str, float]]]
    generation: int | None
    idempotency_key: str | None = None
    body_hash: str | None = None
    audit: dict[str, Any] | None = None
    recheck_token: int | None = None  # a cached token: checked again in the statement


class StoreOutcome(NamedTuple):
    """What the statement did with one request: ``stored`` (with its event ids), ``taken``
    (its Idempotency-Key was stored first), ``moved`` (the generation changed) or ``token``
    (its token was revoked or expired since it was cached)."""

    outcome: str
    ids: list[int]


def _rows(prepared, cameras: dict[str, int], now: datetime,
          cal: calendar.Calendar | None) -> list[tuple]:
    """One VALUES tuple per report: the event columns, its history data and its answer."""
    rows = []
    book = rulebook.rules()
    for n, (r, loc, item) in enumerate(prepared):
        cls, level, limit_h, unit = item
        at = r.reported_at or now
        limit = book.limit(r.item, cls, level, level, calendar.TimeLimit(limit_h, unit))
        due = calendar.due_at(at, limit.amount, limit.unit, cal)
        geom = f"SRID=4326;POINT({loc.lon!r} {loc.lat!r})" if loc.lon is not None else None
        hist = loc.to_dict() | {"due_at": due.isoformat()}  # the due time at intake, kept
        hist.pop("input", None)
        uid = str(uuid.uuid4())
        rows.append((
            uid, r.item, r.source, r.reporter, r.description or "", at, now, geom,
            r.lon, r.lat, (loc.input or {}).get("crs") if r.lon is not None else None,
            (loc.input or {}).get("building_id"), r.address,
            cameras.get(r.camera_code) if r.camera_code else None,
            loc.status, loc.method, loc.distance_m, loc.generation, loc.grid_id, loc.unit_id,
            loc.street, loc.community, loc.grid, loc.unit, loc.worker_id, level,
            due,
            Json(hist), Json(_public(r, loc, 0, uid, item), dumps=_dumps), n,
        ))
    return rows


def _dumps(obj: Any) -> str:
    """JSON for psycopg2 (datetimes as ISO strings)."""
    return json.dumps(obj, default=str, ensure_ascii=False)


_EXECUTE = ("EXECUTE wg_store ("
            + ", ".join(["%s"] * (_COLUMNS + 1 + _REQUEST_COLUMNS + 1)) + ")")


def _text(value: Any) -> str | None:
    """One element of the statement's text arrays (typed again in the statement)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Json):
        return _dumps(value.adapted)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _prepare_store() -> str:
    """``PREPARE wg_store`` of events_store.sql, as the file has it (comments aside)."""
    sql = strip_comments(read_sql("events_store.sql", "gis.intake.sql"))
    return "PREPARE wg_store AS " + sql


def _params(group: list[StoreRequest], generation: int | None) -> tuple:
    """The statement's parameters for a group of requests located in ``generation``."""
    rows = [row for req in group for row in req.rows]
    cols = [[_text(v) for v in col] for col in zip(*rows, strict=True)]
    owner = [n for n, req in enumerate(group) for _row in req.rows]
    audits = [req.audit or {} for req in group]
    per_request = (
        [req.idempotency_key for req in group], [req.body_hash for req in group],
        [req.audit is not None for req in group], [a.get("token_id") for a in audits],
        [a.get("role") for a in audits], [a.get("actor") for a in audits],
        [req.recheck_token for req in group],
    )
    return (*cols, owner, *per_request, generation)


def store_group(engine: Engine, group: list[StoreRequest]) -> list[StoreOutcome]:
    """Store the requests of ``group`` (one generation, distinct Idempotency-Keys) in ONE
    statement and one transaction: events, history, idempotency answers and audit rows.

    Returns one outcome per request, in order. The statement holds the generation row FOR
    SHARE (an activation waits for it) and stores nothing when the generation changed. A
    request whose Idempotency-Key is stored concurrently waits for that transaction and gets
    ``taken``; the other requests are stored all the same.
    """
    params = _params(group, group[0].generation)
    raw = engine.raw_connection()
    try:
        dbapi = raw.dbapi_connection
        dbapi.autocommit = True
        # prepared once per connection, so the server does not parse and plan it every time
        with dbapi.cursor() as cur:
            if not raw.info.get("wg_store"):
                cur.execute(_prepare_store())
                raw.info["wg_store"] = True
            try:
                cur.execute(_EXECUTE, params)
            except psycopg2.errors.InvalidSqlStatementName:  # a new server session
                cur.execute(_prepare_store())
                cur.execute(_EXECUTE, params)
            got = cur.fetchall()
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        # the server went away: drop this connection and the rest of the pool with it
        raw.invalidate()
        engine.dispose(close=False)
        raise
    finally:
        try:
            raw.dbapi_connection.autocommit = False
        except Exception:  # connection already broken: the pool discards it
            pass
        raw.close()
    return [StoreOutcome(outcome, list(ids)) for _req, outcome, ids in got]


def _public(r: Report, loc: Location, eid: int, uid: str, item) -> dict[str, Any]:
    """The API's answer for one stored event."""
    return {
        "id": eid, "uid": uid, "item": r.item, "class": item[0], "status": "reported",
        "level": item[1], "location": {k: v for k, v in loc.to_dict().items() if k != "input"},
    }


def check_batch(reports: list[Report], max_batch: int) -> None:
    """InvalidInput for an empty batch or one above ``max_batch``."""
    if not reports:
        raise InvalidInput.field("events", "the batch is empty", "empty_batch")
    if len(reports) > max_batch:
        raise InvalidInput.field("events", f"{len(reports)} events in one batch; the limit is "
                                 f"{max_batch}", "batch_too_large")


def prepare_request(engine: Engine, locator: Locator, reports: list[Report],
                    idempotency_key: str | None = None, body_hash: str | None = None,
                    audit: dict[str, Any] | None = None,
                    cal: calendar.Calendar | None = None,
                    received_at: datetime | None = None) -> StoreRequest:
    """Validate and locate ``reports`` (InvalidInput names every bad field) into the rows of
    one request, received at ``received_at`` (the clock by default); nothing is stored yet."""
    now = received_at or datetime.now(UTC)
    snap = locator.snapshot
    prepared = _prepare(engine, locator, reports, now)
    cameras = _camera_ids(engine, reports)
    gens = {loc.generation for _r, loc, _i in prepared}
    gen = gens.pop() if len(gens) == 1 else snap.generation
    return StoreRequest(_rows(prepared, cameras, now, cal), prepared, gen, idempotency_key,
                        body_hash, audit)


def answer(req: StoreRequest, ids: list[int]) -> IntakeResult:
    """The 201 answer of a stored request, its events in the order sent."""
    result = [_public(r, loc, eid, row[0], item)
              for eid, row, (r, loc, item) in zip(ids, req.rows, req.prepared, strict=True)]
    return IntakeResult(201, result, False)


def settle(engine: Engine, locator: Locator, req: StoreRequest,
           out: StoreOutcome) -> IntakeResult | None:
    """The answer for one outcome; None when the request must be located again (``moved``).

    ``taken`` answers with the stored answer of the key (a replay); ``token`` is
    Unauthorized (nothing was stored).
    """
    if out.outcome == "stored":
        return answer(req, out.ids)
    if out.outcome == "taken":
        assert req.idempotency_key is not None
        return _replay(engine, req.idempotency_key, req.body_hash)
    if out.outcome == "token":
        raise Unauthorized("invalid, revoked or expired token", code="invalid_token")
    # boundaries changed under us: the new index (built ahead when announced), then again
    locator.refresh()
    return None


TERRITORY_CHANGING = "boundaries kept changing while the report was stored; retry"


def ingest(engine: Engine, locator: Locator, reports: list[Report],
           idempotency_key: str | None = None, body_hash: str | None = None,
           max_batch: int = 500, audit: dict[str, Any] | None = None,
           cal: calendar.Calendar | None = None,
           received_at: datetime | None = None) -> IntakeResult:
    """Store reports atomically; the status, the stored events and whether replayed.

    ``audit`` ({token_id, role, actor}) adds an audit row in the same statement; due times
    follow the district calendar ``cal`` (``calendar.district(settings)``). The API stores
    concurrent requests together (``gis.intake.groupcommit``); this stores one alone.
    ``received_at`` (the clock by default) is for loads of past reports, like the demo's.
    """
    check_batch(reports, max_batch)
    for _attempt in range(3):
        req = prepare_request(engine, locator, reports, idempotency_key, body_hash, audit, cal,
                              received_at)
        res = settle(engine, locator, req, store_group(engine, [req])[0])
        if res is not None:
            return res
    raise Unavailable(TERRITORY_CHANGING, code="territory_changing")


def _replay(engine: Engine, key: str, body_hash: str | None) -> IntakeResult:
    """The stored answer of an earlier request with the same Idempotency-Key."""
    with engine.connect() as conn:
        row = conn.execute(q(SQL, "idem_get", PKG), {"key": key}).first()
    if row is None or row.response is None:
        raise Conflict("a request with this Idempotency-Key is still being processed; retry",
                       code="idempotency_in_progress")
    if body_hash and row.request_hash != body_hash:
        raise InvalidInput.field("Idempotency-Key", "was already used for a different request "
                                 "body", "idempotency_key_reused")
    return IntakeResult(row.status_code, row.response, True)


def get_event(engine: Engine, event_id: int, with_history: bool = True,
              who: Principal | None = None) -> EventDetail:
    """One event with its history and dispatch records (department acknowledgements).

    With a principal the event must lie in its read scope (``gis.access.auth.read_scope``), else
    Hidden, exactly as for a missing event (audited as ``outside_area``); without one (CLI,
    dashboard) every event is readable.
    """
    with engine.connect() as conn:
        row = conn.execute(q(SQL, "event_by_id", PKG), {"id": event_id}).mappings().first()
        if row is None:
            raise NotFound(f"no event {event_id}", code="event_not_found")
        scope = auth.read_scope(who)
        visible = scope["scope_prefixes"] is None or conn.execute(
            q(SQL, "event_visible", PKG), {"id": event_id} | scope).scalar()
        if visible:
            ev = dict(row)
            ev["uid"] = str(ev["uid"])
            if with_history:
                ev["history"] = [dict(h) for h in conn.execute(q(SQL, "history", PKG),
                                                               {"id": event_id}).mappings()]
                ev["dispatch"] = dispatch_records(conn, event_id)
    if not visible:
        assert who is not None
        err = auth.outside_area(who, event_id, row["grid_code"])
        auth.audit_now(engine, who, "event.read", f"event:{event_id}", "denied",
                       {"code": err.audit_code})
        raise err
    return ev


def list_events(engine: Engine, *, grid: str | None = None, status: list[str] | None = None,
                category: str | None = None, location_status: str | None = None,
                since: datetime | None = None, until: datetime | None = None,
                bbox: tuple[float, float, float, float] | None = None,
                before_id: int | None = None, limit: int = 100,
                who: Principal | None = None) -> list[EventRow]:
    """Events matching the filters, newest first (keyset pagination on id).

    With a principal only the events it may read are listed (filtered in the query, see
    ``gis.access.auth.read_scope``); without one (CLI, dashboard) there is no such filter.
    """
    if status:
        bad = [s for s in status if s not in STATUSES]
        if bad:
            raise InvalidInput.field("status", f"unknown status {bad[0]!r}; one of "
                                     f"{', '.join(STATUSES)}", "unknown_status")
    if bbox is not None:
        minlon, minlat, maxlon, maxlat = bbox
        if not all(math.isfinite(v) for v in bbox) or minlon > maxlon or minlat > maxlat:
            raise InvalidInput.field("bbox", "must be minlon,minlat,maxlon,maxlat with min <= max",
                                     "bad_bbox")
    else:
        minlon = minlat = maxlon = maxlat = None
    params = {"grid": grid, "status": status or None, "category": category,
              "location_status": location_status, "since": since, "until": until,
              "minlon": minlon, "minlat": minlat, "maxlon": maxlon, "maxlat": maxlat,
              "before_id": before_id, "limit": limit} | auth.read_scope(who)
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "list_events", PKG), params).mappings().all()
    return [EventRow(**(dict(r) | {"uid": str(r["uid"])})) for r in rows]


def dispatch_records(conn: Connection, event_id: int) -> list[DispatchRecord]:
    """Dispatch and notification records of one event, oldest first."""
    rows = conn.execute(q(SQL, "dispatch_records", PKG), {"e": event_id}).mappings()
    return [DispatchRecord(**r) for r in rows]
