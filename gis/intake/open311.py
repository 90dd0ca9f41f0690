"""Open311 GeoReport v2 over the event intake: services are catalogue items, requests events.

A service request is an event: posted into the same intake as ``POST /api/v1/events``
(located, linked to possible duplicates by the database, audited) with source ``hotline``;
read back through the one read-scope rule. The status of an event maps onto Open311's two:
``open`` while the closed loop runs (reported … resolved, reopened), ``closed`` once closed,
rejected or marked a duplicate; ``status_notes`` carries the Chinese status and the newest
note. Times are W3C (ISO 8601) in China Standard Time, ``+08:00``. The request token is the
event's uid. Formats (JSON, XML) and the web answers are the API's (``gis.api.open311``).
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from typing_extensions import TypedDict  # pydantic (the API's documents) reads it on 3.11

from gis import clock
from gis.access import auth
from gis.access.auth import Principal
from gis.calendar import Calendar
from gis.db.queries import q
from gis.errors import InvalidInput, NotFound
from gis.intake import catalogue, events
from gis.intake.vocabulary import LEVEL_ZH, STATUS_ZH
from gis.territory.locator import Locator

SQL = "open311.sql"
PKG = "gis.intake.sql"
SOURCE = "hotline"  # Open311 is how the 12345 hotline and other city systems report
CLOSED_STATUSES = ("closed", "rejected", "duplicate")
STATUS_OF = {s: "open" for s in events.OPEN_STATUSES} | {s: "closed" for s in CLOSED_STATUSES}
STATUSES_OF = {"open": events.OPEN_STATUSES, "closed": CLOSED_STATUSES}
MAX_SPAN = timedelta(days=90)  # GeoReport v2: a query spans at most 90 days …
MAX_REQUESTS = 1000  # … and answers at most the first 1000 requests
DATUMS = {"wgs84": "WGS84（GPS，默认）", "gcj02": "GCJ-02（高德、腾讯、微信地图）",
          "bd09": "BD-09（百度地图）", "cgcs2000": "CGCS2000（国家2000坐标系）"}
CENTRE_ZH = "区综治中心"


@dataclass(frozen=True)
class Service:
    """One service type (a catalogue item) as GET services lists it."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


@dataclass(frozen=True)
class AttributeValue:
    """One choice of a list attribute."""

    key: str
    name: str


@dataclass(frozen=True)
class ServiceAttribute:
    """One extra field a request of a service may carry (``attribute[code]``)."""

    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue]


@dataclass(frozen=True)
class ServiceDefinition:
    """GET services/{service_code}: the service's attributes."""

    service_code: str
    attributes: list[ServiceAttribute]


@dataclass(frozen=True)
class NewRequest:
    """The fields of POST requests (GeoReport v2), as text; ``attributes``: attribute[code]."""

    service_code: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    description: str | None = None
    media_url: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Posted:
    """The answer to POST requests: the new request's id and token, and a notice."""

    service_request_id: str
    token: str
    service_notice: str
    account_id: str | None


class ServiceRequest(TypedDict):
    """One service request as GET requests answers it (GeoReport v2 fields)."""

    service_request_id: str
    status: str
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class RequestToken(TypedDict):
    """GET tokens/{token}: the request a token stands for."""

    service_request_id: str
    token: str


@dataclass(frozen=True)
class RequestFilter:
    """What GET requests asks for; ``ids`` set: every other filter is ignored (the spec)."""

    ids: list[int] | None = None
    codes: list[str] | None = None
    statuses: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None


def w3c(t: datetime | None) -> str | None:
    """A time as W3C date-time in China Standard Time, e.g. 2026-12-05T09:30:00+08:00."""
    return None if t is None else t.astimezone(clock.CST).isoformat(timespec="seconds")


# -- services -----------------------------------------------------------------------------


def services(engine: Engine) -> list[Service]:
    """The active catalogue as Open311 services, in the catalogue's order (Chinese names)."""
    out = []
    for c in catalogue.listing(engine):
        group = c["name_zh"] or c["name"]
        for it in c["items"]:
            name = it["name_zh"] or it["name"]
            level = LEVEL_ZH.get(it["default_level"], it["default_level"])
            out.append(Service(
                it["code"], name, f"{group}：{name}（{it['name']}）。首先由{level}处置。",
                True, "realtime", ",".join([group, name, c["code"], it["code"]]), group))
    return out


def _datum_attribute() -> ServiceAttribute:
    """The optional datum of lat/long (Chinese map apps send GCJ-02 or BD-09)."""
    return ServiceAttribute(
        True, "crs", "singlevaluelist", False,
        "lat/long 所用坐标系；不填为 WGS84。Datum of lat/long; WGS84 when not given.", 1,
        "坐标系 Datum", [AttributeValue(k, v) for k, v in DATUMS.items()])


def definition(engine: Engine, code: str) -> ServiceDefinition:
    """The definition of one service; NotFound for a code not in the active catalogue."""
    if code not in {s.service_code for s in services(engine)}:
        raise NotFound(f"service_code {code!r} not found (GET services lists them)",
                       code="service_not_found")
    return ServiceDefinition(code, [_datum_attribute()])


# -- POST requests --------------------------------------------------------------------------


def _given(value: str | None) -> bool:
    """A field counts as given unless missing or blank."""
    return value is not None and value.strip() != ""


def _coordinate(value: str, name: str, limit: float) -> float:
    """A lat or long field → float; InvalidInput naming the field."""
    try:
        v = float(value)
    except ValueError:
        raise InvalidInput.field(name, f"must be a number, got {value!r}", "not_a_number") from None
    if not math.isfinite(v) or not -limit <= v <= limit:
        raise InvalidInput.field(name, f"{value} is out of range [-{limit:g}, {limit:g}]",
                                 "out_of_range")
    return v


def _point(req: NewRequest) -> tuple[float | None, float | None]:
    """(long, lat) when both are given; InvalidInput when one is missing or no location at all."""
    lat, lon = _given(req.lat), _given(req.long)
    if lat != lon:
        missing = "long" if lat else "lat"
        raise InvalidInput.field(missing, "lat and long are given together", "missing_" + missing)
    if lat:
        return _coordinate(req.long or "", "long", 180.0), _coordinate(req.lat or "", "lat", 90.0)
    if not (_given(req.address_string) or _given(req.address_id)):
        raise InvalidInput.field("location", "a request needs a location: lat and long, "
                                 "address_string or address_id", "missing_location")
    return None, None


def _check_service(engine: Engine, code: str | None) -> str:
    """The service code, checked against the active catalogue."""
    if not _given(code):
        raise InvalidInput.field("service_code", "is required (GET services lists them)",
                                 "missing_service_code")
    with engine.connect() as conn:
        known = catalogue.active_items(conn)
    if code not in known:
        raise InvalidInput.field("service_code", f"{code!r} not found (GET services lists them)",
                                 "unknown_service_code")
    return str(code)


def _check_text(req: NewRequest) -> None:
    """Lengths of the free-text fields and the form of media_url."""
    for name, limit in (("service_code", 64), ("address_id", 64), ("description", 4000),
                        ("address_string", 500), ("media_url", 2000),
                        ("first_name", 50), ("last_name", 50), ("phone", 30), ("email", 200),
                        ("device_id", 200), ("account_id", 200)):
        value = getattr(req, name)
        if value is not None and len(value) > limit:
            raise InvalidInput.field(name, f"is longer than {limit} characters", "too_long")
        if value is not None and "\x00" in value:
            raise InvalidInput.field(name, "contains a NUL character (\\u0000)", "nul_character")
    if _given(req.media_url) and not str(req.media_url).startswith(("https://", "http://")):
        raise InvalidInput.field("media_url", "must be an http(s) URL", "bad_media_url")


def to_report(engine: Engine, req: NewRequest) -> events.Report:
    """A checked POST request → the intake's report; InvalidInput names the field at fault."""
    _check_text(req)
    code = _check_service(engine, req.service_code)
    lon, lat = _point(req)
    crs = req.attributes.get("crs") or "wgs84"
    if crs not in DATUMS:
        raise InvalidInput.field("attribute[crs]", f"{crs!r} is not one of {', '.join(DATUMS)}",
                                 "unknown_datum")
    name = " ".join(v.strip() for v in (req.first_name, req.last_name) if _given(v))
    address_id = req.address_id.strip() if _given(req.address_id) else None
    return events.Report(
        item=code, source=SOURCE, lon=lon, lat=lat, crs=crs,
        building_id=address_id if lon is None else None,
        address=req.address_string.strip() if _given(req.address_string) else None,
        description=(req.description or "").strip(),
        reporter=(req.phone or "").strip() or name or None)


def submit(engine: Engine, locator: Locator, req: NewRequest, who: Principal,
           idempotency_key: str | None = None, cal: Calendar | None = None) -> Posted:
    """Check, locate and store one request through the intake (due time by the district
    calendar ``cal``); nothing is stored on an error."""
    report = to_report(engine, req)
    body = events.request_hash(req.__dict__) if idempotency_key else None
    audit = {"token_id": who.token_id, "role": who.role, "actor": who.actor}
    res = events.ingest(engine, locator, [report], idempotency_key, body, audit=audit, cal=cal)
    ev = res.events[0]
    if not res.replayed:
        _record_channel(engine, ev["id"], req, who)
    return Posted(str(ev["id"]), str(ev["uid"]), _notice(engine, ev), req.account_id)


def _record_channel(engine: Engine, event_id: int, req: NewRequest, who: Principal) -> None:
    """Keep what the event row does not hold: media_url and the system's own ids."""
    data = {"media_url": req.media_url, "device_id": req.device_id,
            "account_id": req.account_id, "token_id": who.token_id}
    data = {k: v for k, v in data.items() if v is not None}
    with engine.begin() as conn:
        conn.execute(q(SQL, "record_channel", PKG), {
            "event_id": event_id, "actor": who.actor,
            "data": json.dumps(data, ensure_ascii=False)})


def _notice(engine: Engine, ev: dict[str, Any]) -> str:
    """Where the request landed, and a possible duplicate, in Chinese."""
    loc = ev["location"]
    if loc.get("status") == "unassigned":
        text = "未能定位到网格，由区综治中心人工落格。"
    else:
        text = f"已落入网格 {loc.get('grid')}。"
    with engine.connect() as conn:
        dup = conn.execute(q(SQL, "duplicate_of", PKG), {"event_id": ev["id"]}).first()
    if dup is not None:
        text += (f"可能与事件 {dup.original_id} 重复（相距约 {int(dup.distance_m)} 米），"
                 "待调度员确认。")
    return text


# -- GET requests ---------------------------------------------------------------------------


def _split(value: str | None) -> list[str] | None:
    """A comma-delimited parameter → its non-empty parts (None when not given)."""
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return parts or None


def _ids(value: str | None) -> list[int] | None:
    """service_request_id (comma list) → event ids."""
    parts = _split(value)
    if parts is None:
        return None
    if len(parts) > MAX_REQUESTS:
        raise InvalidInput.field("service_request_id", f"at most {MAX_REQUESTS} ids", "too_many")
    bad = [p for p in parts if not (p.isascii() and p.isdigit()) or len(p) > 18]
    if bad:
        raise InvalidInput.field("service_request_id", f"{bad[0]!r} is not a request id",
                                 "bad_request_id")
    return [int(p) for p in parts]


def _statuses(value: str | None) -> list[str] | None:
    """status (open, closed; comma list) → the event statuses it covers."""
    parts = _split(value)
    if parts is None:
        return None
    bad = [p for p in parts if p not in STATUSES_OF]
    if bad:
        raise InvalidInput.field("status", f"{bad[0]!r} is not open or closed", "unknown_status")
    return [s for p in parts for s in STATUSES_OF[p]]


def _span(start: str | None, end: str | None,
          now: datetime) -> tuple[datetime, datetime | None]:
    """start_date and end_date (W3C; naive = UTC+8), at most 90 days apart; one missing
    spans 90 days from the other, both missing the last 90 days."""
    s = clock.parse_time(start, "start_date")
    e = clock.parse_time(end, "end_date")
    if s is not None and e is not None:
        if e < s:
            raise InvalidInput.field("end_date", "is before start_date", "bad_span")
        if e - s > MAX_SPAN:
            raise InvalidInput.field("end_date", f"is {(e - s).days} days after start_date; "
                                     f"at most {MAX_SPAN.days} days apart", "span_too_long")
        return s, e
    if s is not None:
        return s, s + MAX_SPAN
    if e is not None:
        return e - MAX_SPAN, e
    return now - MAX_SPAN, None


def request_filter(engine: Engine, *, service_request_id: str | None = None,
                   service_code: str | None = None, start_date: str | None = None,
                   end_date: str | None = None, status: str | None = None,
                   now: datetime | None = None) -> RequestFilter:
    """The GET requests parameters → a checked filter (InvalidInput names the parameter)."""
    ids = _ids(service_request_id)
    if ids is not None:
        return RequestFilter(ids=ids)
    codes = _split(service_code)
    if codes:
        with engine.connect() as conn:
            known = catalogue.active_items(conn)
        bad = [c for c in codes if c not in known]
        if bad:
            raise InvalidInput.field("service_code", f"{bad[0]!r} not found (GET services "
                                     "lists them)", "unknown_service_code")
    s, e = _span(start_date, end_date, now or datetime.now(clock.CST))
    return RequestFilter(codes=codes, statuses=_statuses(status), start=s, end=e)


def _agency(level: str, name: str | None) -> str:
    """Who handles the request: the area at its handling level, e.g. 某某社区（社区）."""
    if name is None:
        return CENTRE_ZH
    return f"{name}（{LEVEL_ZH.get(level, level)}）"


def _request(r: Any) -> ServiceRequest:
    """One row of the requests query → a GeoReport v2 service request."""
    notes = STATUS_ZH.get(r.status, r.status) + (f"：{r.status_note}" if r.status_note else "")
    return ServiceRequest(
        service_request_id=str(r.id), status=STATUS_OF[r.status], status_notes=notes,
        service_name=r.service_name, service_code=r.item_code,
        description=r.description or "", agency_responsible=_agency(r.level, r.agency_name),
        service_notice="", requested_datetime=w3c(r.reported_at) or "",
        updated_datetime=w3c(r.updated_at) or "", expected_datetime=w3c(r.due_at),
        address=r.address or "", address_id=None if r.building_id is None else str(r.building_id),
        zipcode=None, lat=r.lat, long=r.lon, media_url=r.media_url)


def find(engine: Engine, flt: RequestFilter, who: Principal) -> list[ServiceRequest]:
    """Requests matching ``flt`` within what ``who`` may read, newest first (at most 1000)."""
    params = {"ids": flt.ids, "codes": flt.codes, "statuses": flt.statuses,
              "start_at": flt.start, "end_at": flt.end, "limit": MAX_REQUESTS}
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "requests", PKG), params | auth.read_scope(who)).all()
    return [_request(r) for r in rows]


def get(engine: Engine, request_id: int, who: Principal) -> ServiceRequest:
    """One request; outside the caller's area it does not exist (audited, as for events)."""
    events.get_event(engine, request_id, with_history=False, who=who)
    found = find(engine, RequestFilter(ids=[request_id]), who)
    if not found:
        raise NotFound(f"no event {request_id}", code="event_not_found")
    return found[0]


def by_token(engine: Engine, token: str, who: Principal) -> RequestToken:
    """The request a token (an event's uid) stands for, within what ``who`` may read."""
    try:
        uid = str(uuid.UUID(token))
    except ValueError:
        raise NotFound(f"no request with token {token!r}", code="token_not_found") from None
    with engine.connect() as conn:
        found = conn.execute(q(SQL, "id_of_uid", PKG), {"uid": uid} | auth.read_scope(who))
        event_id = found.scalar()
    if event_id is None:
        raise NotFound(f"no request with token {token!r}", code="token_not_found")
    return RequestToken(service_request_id=str(event_id), token=token)
