"""/api/v1/boundaries: upload a boundary file (same core as the CLI), list, export, roll back."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from boundaries import listing
from boundaries.answers import BoundaryCollection, Generation, ImportReport, Rollback
from boundaries.core import run_import
from boundaries.export import BoundaryGeoJSON, feature_collection
from boundaries.reader import parse_mapping
from boundaries.validate import Options
from gis.access import auth
from gis.access.auth import Principal
from gis.api import deps
from gis.api.params import GenerationId
from gis.errors import InvalidInput
from gis.settings import Settings
from gis.territory import activation as act
from gis.territory.locator import Locator

router = APIRouter(prefix="/api/v1/boundaries", tags=["boundaries"])
SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")


def _actor(who: Principal) -> str:
    """The caller as recorded in the generation, the activation, history and the audit."""
    return who.actor if who.token_id is None else f"{who.actor} (token #{who.token_id})"


def _audit(engine: Engine, who: Principal, action: str, out: dict[str, Any]) -> None:
    """Audit a boundary change (or its preview) with what it did."""
    gen = out.get("generation")
    auth.audit_now(engine, who, action, f"generation:{gen}" if gen else None, "ok",
                   {k: out.get(k) for k in ("committed", "generation", "activation",
                                            "previous", "rolled_back")})


@router.post("", response_model=ImportReport,
             summary="Upload boundaries: validation report, preview; commit=true activates")
async def upload(
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage or zipped Shapefile")],
    commit: Annotated[bool, Query(description="Activate when acceptable")] = False,
    level: Annotated[str | None, Query(description="Level of features without one")] = None,
    crs: Annotated[str | None, Query(description="EPSG:4490, EPSG:4547, gcj02, bd09, ...")] = None,
    layer: Annotated[str | None, Query(description="GeoPackage layer")] = None,
    repair: Annotated[bool, Query(description="Use make_valid's repairs")] = False,
    min_area_m2: Annotated[float, Query(ge=0, description="Sliver/gap threshold (m²)")] = 5.0,
    map_: Annotated[list[str] | None, Query(alias="map", description="TARGET=FIELD")] = None,
    description: Annotated[str, Query()] = "",
    engine: Engine = Depends(deps.engine),
    locator: Locator = Depends(deps.locator),
    settings: Settings = Depends(deps.settings),
    # the caller: the router's own dependency (wangge.app), so run once per request
    who: Principal = Depends(deps.require_planner_for_writes),
) -> JSONResponse:
    """Same pipeline as ``wangge boundaries import``: 200 acceptable, 422 blocked/unreadable."""
    name = Path(file.filename or "upload.geojson").name
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput.field("file", f"unsupported file type {suffix or '(none)'}; send "
                                 ".geojson, .gpkg or a zipped Shapefile (.zip)", "bad_file_type")
    try:
        mapping = parse_mapping(map_)
    except ValueError as e:
        raise InvalidInput.field("map", str(e), "bad_mapping") from None
    actor = _actor(who)
    description = f"{description or f'import of {name}'} (uploaded by {actor})"
    with tempfile.TemporaryDirectory(prefix="wangge-bnd-") as d:
        path = Path(d) / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        res = await run_in_threadpool(
            run_import, engine, path, crs=crs, level=level, mapping=mapping, layer=layer,
            options=Options(min_area_m2=min_area_m2, repair=repair), commit=commit,
            description=description, actor=actor, max_m=settings.outside_max_distance_m,
            source_name=name)
    if res.report.get("committed"):
        locator.refresh()
    if res.report.get("readable"):
        done = res.report.get("activation") or {}
        await run_in_threadpool(_audit, engine, who, "boundaries.import", {
            "committed": bool(res.report.get("committed")),
            "generation": res.report.get("generation"),
            "activation": done.get("activation"), "previous": done.get("previous")})
    body: dict[str, Any] = {**res.report, "exit_code": res.exit_code,
                            "problem_geometries": res.problems_geojson,
                            "recut_geometries": res.recut_geojson}
    return JSONResponse(_jsonable(body), status_code=200 if res.exit_code == 0 else 422)


def _jsonable(obj: Any) -> Any:
    """Dates and other values to JSON-friendly ones."""
    import json

    return json.loads(json.dumps(obj, default=str))


@router.get("", response_model=list[Generation], summary="Boundary generations")
def generations(engine: Engine = Depends(deps.engine)) -> list[act.GenerationRow]:
    """Every generation with its status, size and the open events whose current codes are
    its own."""
    with engine.connect() as conn:
        return _jsonable(listing.generations(conn))


@router.get("/{generation}/geojson", response_model=BoundaryCollection,
            response_model_exclude_unset=True, summary="Export one generation as GeoJSON")
def export(generation: GenerationId, engine: Engine = Depends(deps.engine)) -> BoundaryGeoJSON:
    """The generation's boundaries with code, name, parent_code, kind, level."""
    with engine.connect() as conn:
        return feature_collection(conn, generation)


@router.post("/rollback", response_model=Rollback, summary="Return to the previous generation")
def rollback(commit: Annotated[bool, Query(description="Really roll back")] = False,
             engine: Engine = Depends(deps.engine), locator: Locator = Depends(deps.locator),
             settings: Settings = Depends(deps.settings),
             who: Principal = Depends(deps.require_planner_for_writes)) -> Rollback:
    """Restore the generation the last activation replaced and the former assignments."""
    out = act.rollback_generation(engine, commit=commit, actor=_actor(who),
                                  max_m=settings.outside_max_distance_m)
    if commit:
        locator.refresh()
    done = Rollback(**out, committed=commit)
    _audit(engine, who, "boundaries.rollback", dict(done))
    return done
