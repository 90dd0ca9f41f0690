"""/api/v1/events: report intake (one or a batch, idempotent) and listing."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from gis import calendar
from gis.api import deps, event_geojson
from gis.api.answers import EventDetail, EventPage, StoredBatch, StoredEvent
from gis.api.errors import pydantic_details
from gis.api.event_geojson import EventCollection
from gis.api.params import INT64_MAX, Id, Instant
from gis.api.schemas import ReportIn, _aware
from gis.errors import InvalidInput, Unauthorized
from gis.intake import events, groupcommit, resident
from gis.settings import Settings
from gis.territory.locator import Locator

router = APIRouter(prefix="/api/v1/events", tags=["events"])

# The body is parsed by hand (one report, {"events": [...]} or a list), so its schema is given
# inline: a $ref to a model no route declares would dangle in /openapi.json.
_REPORT_SCHEMA = ReportIn.model_json_schema()
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [
            _REPORT_SCHEMA,
            {"title": "BatchIn", "type": "object", "required": ["events"],
             "additionalProperties": False,
             "properties": {"events": {"type": "array", "items": _REPORT_SCHEMA}}},
            {"type": "array", "items": _REPORT_SCHEMA},
        ]}}},
    }
}


def parse_reports(raw: bytes, max_batch: int) -> tuple[list[events.Report], bool, Any]:
    """Body → reports; (reports, is_batch, parsed JSON). Errors name the field."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidInput.field("body", f"not valid JSON: {e}", "bad_json") from None
    if isinstance(doc, dict) and "events" in doc:
        items, batch = doc["events"], True
        if not isinstance(items, list):
            raise InvalidInput.field("events", "must be a list of reports", "bad_batch")
        extra = sorted(k for k in doc if k != "events")
        if extra:
            raise InvalidInput.field(extra[0], "unknown field (a batch is {\"events\": [...]})",
                                     "unknown_field")
    elif isinstance(doc, list):
        items, batch = doc, True
    elif isinstance(doc, dict):
        items, batch = [doc], False
    else:
        raise InvalidInput.field("body", "must be a report object, {\"events\": [...]} or a list",
                                 "bad_body")
    if batch and len(items) > max_batch:
        raise InvalidInput.field("events", f"{len(items)} events in one batch; the limit is "
                                 f"{max_batch}", "batch_too_large")
    if batch and not items:
        raise InvalidInput.field("events", "the batch is empty", "empty_batch")
    reports, errors = [], []
    for i, it in enumerate(items):
        prefix = f"events[{i}]." if batch else ""
        try:
            if not isinstance(it, dict):
                raise InvalidInput.field(prefix.rstrip(".") or "body", "must be an object")
            m = ReportIn.model_validate(it)
            reports.append(events.Report(
                item=m.item, source=m.source, lon=m.lon, lat=m.lat, crs=m.crs,
                building_id=m.building_id, address=m.address, camera_code=m.camera_code,
                description=m.description, reporter=m.reporter, reported_at=m.reported_at,
                extra=m.extra,
            ))
        except ValidationError as e:
            errors.extend(pydantic_details(e.errors(), prefix))
        except InvalidInput as e:
            errors.extend(e.details)
    if errors:
        raise InvalidInput("; ".join(f"{d['field']}: {d['reason']}" for d in errors[:5]),
                           code="invalid_input", details=errors)
    return reports, batch, doc


@router.post("", status_code=201, openapi_extra=_BODY_DOC,
             response_model=StoredEvent | StoredBatch,
             summary="Report one event, or a batch (all or nothing)")
async def post_events(
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    """Locate and store reports; a retried request with the same Idempotency-Key lands once.
    Concurrent requests are stored together, each answered after their commit."""
    # the app's engine, locator and settings read here, not as dependencies: the hot path of
    # an alert storm, where each dependency FastAPI solves costs tens of microseconds
    state = request.app.state
    engine: Engine = state.engine
    locator: Locator = state.locator
    settings: Settings = state.settings
    batcher = await deps.intake_batcher(request)
    raw = await request.body()
    reports, batch, doc = parse_reports(raw, settings.max_batch)
    who = getattr(request.state, "principal", None)
    audit = ({"token_id": who.token_id, "role": who.role, "actor": who.actor}
             if who is not None else None)
    key_hash = events.request_hash(doc) if idempotency_key else None
    cal = calendar.district(settings)
    if batcher is None:  # group commit off: each request alone
        res = await run_in_threadpool(events.ingest, engine, locator, reports, idempotency_key,
                                      key_hash, settings.max_batch, audit, cal=cal)
    else:
        try:
            res = await groupcommit.ingest(
                batcher, engine, locator, reports, idempotency_key, key_hash,
                settings.max_batch, audit, cal=cal,
                recheck_token=getattr(request.state, "recheck_token", None))
        except Unauthorized as e:
            await deps.token_refused(request, e)
            raise
    headers = {"Idempotent-Replayed": "true"} if res.replayed else {}
    if batch:
        return JSONResponse({"count": len(res.events), "events": res.events},
                            status_code=res.status, headers=headers)
    headers["Location"] = f"/api/v1/events/{res.events[0]['id']}"
    # plain JSON (no jsonable_encoder pass): the answer holds only JSON types
    return JSONResponse(res.events[0], status_code=res.status, headers=headers)


# The GeoJSON answer (Accept: application/geo+json or f=geojson) in the OpenAPI document
_GEOJSON_DOC = {200: {"content": {event_geojson.MEDIA_TYPE: {"schema": {
    "$ref": "#/components/schemas/EventCollection"}}}}}


@router.get("", response_model=EventPage | EventCollection, responses=_GEOJSON_DOC,
            summary="List events (filter by grid, status, category, time, bbox); JSON or "
                    "GeoJSON")
def get_events(
    request: Request,
    grid: str | None = None,
    status: Annotated[list[str] | None, Query(description="Repeat or comma-separate.")] = None,
    category: Annotated[str | None, Query(description="Class or item code.")] = None,
    location_status: Annotated[str | None, Query(pattern="^(inside|outside|unassigned)$")] = None,
    since: Annotated[Instant | None, Query(description="Naive times are taken as UTC+8.")] = None,
    until: Annotated[Instant | None, Query(description="Naive times are taken as UTC+8.")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    cursor: Annotated[int | None,
                      Query(ge=1, le=INT64_MAX,
                            description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    f: Annotated[str | None, Query(pattern="^(json|geojson)$",
                                   description="geojson: a FeatureCollection (as Accept: "
                                               "application/geo+json)")] = None,
    engine: Engine = Depends(deps.read_engine),  # the replica: up to its lag behind
) -> Any:
    """Events in the caller's area, newest first, ``limit`` per page; pass ``next_cursor``
    back as ``cursor``. A GeoJSON FeatureCollection when asked (``f=geojson`` or ``Accept:
    application/geo+json``)."""
    box = None
    if bbox:
        try:
            parts = [float(v) for v in bbox.split(",")]
            if len(parts) != 4:
                raise ValueError
            box = (parts[0], parts[1], parts[2], parts[3])
        except ValueError:
            raise InvalidInput.field("bbox", "must be four numbers minlon,minlat,maxlon,maxlat",
                                     "bad_bbox") from None
    statuses = [s for v in (status or []) for s in v.split(",") if s] or None
    rows = events.list_events(engine, grid=grid, status=statuses, category=category,
                              location_status=location_status, since=_aware(since),
                              until=_aware(until),
                              bbox=box, before_id=cursor, limit=limit,
                              who=getattr(request.state, "principal", None))
    next_cursor = rows[-1]["id"] if len(rows) == limit else None
    if event_geojson.wants_geojson(f, request.headers.get("accept")):
        next_href = (str(request.url.include_query_params(cursor=next_cursor))
                     if next_cursor is not None else None)
        body = event_geojson.collection(rows, next_cursor, str(request.url), next_href)
        return JSONResponse(body, media_type=event_geojson.MEDIA_TYPE)
    return {"count": len(rows), "events": rows, "next_cursor": next_cursor}


@router.get("/{event_id}", response_model=EventDetail,
            summary="One event with its full history")
def get_event(event_id: Id, request: Request,  # the primary: an event just posted is there
              engine: Engine = Depends(deps.engine)) -> dict[str, Any]:
    """The event, every step of its history and its dispatch records (404, as if missing,
    outside the caller's area)."""
    ev = events.get_event(engine, event_id, who=getattr(request.state, "principal", None))
    return resident.masked_event(ev)
