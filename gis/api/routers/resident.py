"""/api/v1/resident: the resident page's API (no log-in): items, area map, reports by
tracking code, points by phone number and code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from gis.api import deps
from gis.api.params import ErrorAnswer
from gis.api.resident_models import ResidentItems
from gis.intake import resident
from gis.intake.attachments import Upload
from gis.settings import Settings
from gis.territory.locator import Locator

router = APIRouter(prefix="/api/v1/resident", tags=["resident"])
TOO_MANY = {429: {"model": ErrorAnswer, "description": "Too many reports from this address "
                  "or phone number (error code too_many_reports); try again later."}}


@router.get("/items", response_model=ResidentItems, summary="What a resident may report")
def items(engine: Engine = Depends(deps.engine)) -> dict[str, Any]:
    """Every active item of the catalogue, grouped by class, Chinese names first."""
    return {"classes": resident.items(engine)}


@router.get("/area", response_model=resident.AreaOutlines,
            summary="District and grid outlines (GeoJSON)")
def area(engine: Engine = Depends(deps.engine)) -> Any:
    """The active district outline and grid outlines with their names, to draw the pin map."""
    return resident.area(engine)


@router.post("/reports", status_code=201, response_model=resident.Submitted, responses=TOO_MANY,
             summary="Report a problem (multipart form; photos in field 'photo')")
async def post_report(
    request: Request,
    item: Annotated[str, Form(max_length=100)],
    description: Annotated[str, Form(max_length=4000)] = "",
    lon: Annotated[float | None, Form(description="WGS84 (GPS or a pin)")] = None,
    lat: Annotated[float | None, Form(description="WGS84 (GPS or a pin)")] = None,
    building_id: Annotated[str | None, Form(max_length=40)] = None,
    address: Annotated[str | None, Form(max_length=1000)] = None,
    phone: Annotated[str | None, Form(max_length=40)] = None,
    photo: Annotated[list[UploadFile] | None, File(description="0..n photos")] = None,
    engine: Engine = Depends(deps.engine), locator: Locator = Depends(deps.locator),
    settings: Settings = Depends(deps.settings),
) -> Any:
    """Store the report (source resident) and answer its tracking code; nothing is stored
    when any part is refused (a photo, the place, the rate limit)."""
    uploads = [Upload(f.filename or "", f.content_type, await f.read()) for f in photo or []
               if f.filename or f.size]
    rep = resident.ResidentReport(item=item, description=description, lon=lon, lat=lat,
                                  building_id=building_id or None, address=address or None,
                                  phone=phone or None)
    host = request.client.host if request.client else None
    return await run_in_threadpool(resident.submit, engine, locator, settings, rep, host,
                                   uploads, getattr(request.app.state, "media", None))


@router.get("/reports/{code}", response_model=resident.PublicStatus,
            summary="A report's status by its tracking code")
def report_status(code: Annotated[str, Path(max_length=40)],
                  engine: Engine = Depends(deps.engine)) -> Any:
    """Item, status, public history (no names), masked phone, number of photos."""
    return resident.status(engine, code)


@router.get("/points", response_model=resident.PointsBalance,
            summary="Points of a phone number (with one of its tracking codes)")
def points(phone: Annotated[str, Query(max_length=40)],
           code: Annotated[str, Query(max_length=40)],
           engine: Engine = Depends(deps.engine)) -> Any:
    """Balance and awards; a phone and code that do not belong together answer 404."""
    return resident.points(engine, phone, code)
