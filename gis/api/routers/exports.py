"""/api/v1/events/export and /api/v1/assessment/export: files (.xlsx, .csv) for people.

File answers, like the basemap tiles, stay out of the OpenAPI document (its answers are JSON
models); README, section Exports, describes them."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from gis.access import scope
from gis.access.auth import Principal
from gis.api import deps
from gis.api.params import Instant, Month
from gis.oversight import exports

router = APIRouter(prefix="/api/v1", tags=["exports"])
Who = Annotated[Principal, Depends(deps.current)]
Heavy = Annotated[Engine, Depends(deps.heavy_engine)]  # own small pool: never starves intake
Format = Annotated[Literal["xlsx", "csv"], Query(description="xlsx (Excel) or csv (UTF-8 "
                                                             "with a BOM)")]


def attachment(name: str, name_zh: str) -> str:
    """Content-Disposition of a download: an ASCII name and the UTF-8 one (RFC 5987/6266)."""
    return f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name_zh, safe='')}"


def _listed(values: list[str] | None) -> tuple[str, ...]:
    """Repeated and comma-separated query values, as one tuple."""
    return tuple(s for v in (values or []) for s in v.split(",") if s)


def _answer(f: exports.Export) -> Response:
    """The export as an attachment."""
    return Response(f.content, media_type=f.media_type, headers={
        "Content-Disposition": attachment(f.filename, f.filename_zh),
        "X-Export-Rows": str(f.rows)})


@router.get("/events/export", response_class=Response, include_in_schema=False,
            summary="Export events as filtered (Excel or CSV)")
async def get_events_export(
    who: Who, engine: Heavy, format: Format = "xlsx",
    since: Annotated[Instant | None, Query(description="Naive times are taken as UTC+8.")] = None,
    until: Annotated[Instant | None, Query(description="Naive times are taken as UTC+8.")] = None,
    area: Annotated[str | None, Query(max_length=40,
                                      description="Street, community or grid code.")] = None,
    status: Annotated[list[str] | None, Query(description="Repeat or comma-separate.")] = None,
    item: Annotated[list[str] | None, Query(description="Item or class codes; repeat or "
                                                        "comma-separate.")] = None,
    overdue: Annotated[bool, Query(description="Only open events past their due time.")]
    = False,
) -> Response:
    """The events the caller may read (its area only) matching the filters, oldest first."""
    filt = exports.EventFilter(since=since, until=until, area=area or None,
                               statuses=_listed(status), items=_listed(item), overdue=overdue)
    return _answer(await run_in_threadpool(exports.export_events, engine, filt, format, who))


@router.get("/assessment/export", response_class=Response, include_in_schema=False,
            summary="Export the monthly assessment's standard indicators (Excel or CSV)")
async def get_assessment_export(
    month: Annotated[Month, Query(description="YYYY-MM")], who: Who, engine: Heavy,
    format: Format = "xlsx",
    area: Annotated[str | None, Query(max_length=40,
                                      description="Street, community or grid code.")] = None,
) -> Response:
    """立案, 结案, 按期结案, rates, 返工, 超期 per street, community, grid and worker (same
    roles and areas as GET /api/v1/reports/assessment)."""
    chosen = scope.report_area(who.role, who.areas, area)
    return _answer(await run_in_threadpool(exports.export_assessment, engine, month, chosen,
                                           format))
