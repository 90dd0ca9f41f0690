"""OGC API – Features (Parts 1–3) at ``/ogc``: landing page, conformance, collections, items.

GDAL's OAPIF driver, QGIS and OWSLib read it. Collections and items need a token (a bearer
header, or HTTP basic auth with the token as the password); events and patrol tracks only
in the caller's area, as everywhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from gis.access import auth
from gis.api import deps
from gis.api.features_models import (
    CollectionInfo,
    Collections,
    Conformance,
    Feature,
    FeatureCollection,
    Landing,
    Queryables,
)
from gis.errors import BadQueryParameter, MethodNotAllowed
from gis.interop import crs as crsmod
from gis.interop import drafts, features, params
from gis.interop.collections import COLLECTIONS, Collection, collection

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])
GEOJSON = "application/geo+json"
OPENAPI_TYPE = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
]
Fmt = Annotated[str | None, Query(alias="f", description="json (the default)")]


def _base(request: Request) -> str:
    """The service's root URL (``…/ogc``)."""
    return str(request.base_url).rstrip("/") + router.prefix


def _link(href: str, rel: str, type_: str = "application/json", title: str | None = None
          ) -> dict[str, Any]:
    """One link object."""
    return {"href": href, "rel": rel, "type": type_, **({"title": title} if title else {})}


def _fmt(f: str | None) -> None:
    """Only JSON is served (``f=json`` or ``f=geojson``)."""
    if f not in (None, "json", "geojson", "application/json", GEOJSON):
        raise BadQueryParameter.field("f", f"只提供 JSON (only json is served), got {f!r}")


@router.get("", response_model=Landing, summary="Landing page")
@router.get("/", response_model=Landing, include_in_schema=False)
def landing(request: Request, f: Fmt = None) -> dict[str, Any]:
    """What the service is, with links to its API document, conformance and data."""
    _fmt(f)
    base = _base(request)
    return {"title": "Wangge 网格 — OGC API – Features",
            "description": "网格化治理的空间数据: 街道、社区、网格、最小单元、楼栋、摄像头、"
                           "事件、巡查轨迹",
            "links": [_link(base, "self"), _link(f"{base}/api", "service-desc", OPENAPI_TYPE),
                      _link(str(request.base_url).rstrip("/") + "/docs", "service-doc",
                            "text/html"),
                      _link(f"{base}/conformance", "conformance"),
                      _link(f"{base}/collections", "data")]}


@router.get("/conformance", response_model=Conformance, summary="Conformance classes")
def conformance(f: Fmt = None) -> dict[str, Any]:
    """The conformance classes implemented (and only those)."""
    _fmt(f)
    return {"conformsTo": CONFORMANCE}


@router.get("/api", response_model=None, include_in_schema=False)
def api_document(request: Request) -> JSONResponse:
    """The OpenAPI document of the OGC API endpoints (paths relative to ``/ogc``)."""
    doc = get_openapi(title="Wangge OGC API – Features", version="1.0.0",
                      openapi_version="3.0.3", routes=router.routes)
    doc = _nullable(doc)
    doc["servers"] = [{"url": _base(request)}]
    doc["paths"] = {p.removeprefix(router.prefix) or "/": v for p, v in doc["paths"].items()}
    return JSONResponse(doc, media_type=OPENAPI_TYPE)


def _nullable(node: Any) -> Any:
    """OpenAPI 3.1's ``anyOf: [X, {type: null}]`` written as 3.0's ``X`` + ``nullable``."""
    if isinstance(node, list):
        return [_nullable(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items()}
    arms = out.get("anyOf")
    if isinstance(arms, list) and {"type": "null"} in arms and len(arms) == 2:
        out.pop("anyOf")
        out = {**next(a for a in arms if a != {"type": "null"}), **out, "nullable": True}
    return out


def _info(c: Collection, base: str, extent: list[float] | None) -> dict[str, Any]:
    """The description of one collection."""
    href = f"{base}/collections/{c.id}"
    ext: dict[str, Any] = {"spatial": {"bbox": [extent] if extent else [], "crs": crsmod.CRS84}}
    if c.temporal:
        ext["temporal"] = {"interval": [[None, None]],
                           "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return {"id": c.id, "title": c.title, "description": c.description,
            "itemType": "feature", "crs": [x.uri for x in crsmod.SERVED],
            "storageCrs": crsmod.CRS84, "extent": ext,
            "links": [_link(href, "self"), _link(f"{href}/items", "items", GEOJSON),
                      _link(f"{href}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/"
                            "queryables", "application/schema+json")]}


@router.get("/collections", response_model=Collections, summary="The feature collections")
def list_collections(request: Request, f: Fmt = None,
                     _who: auth.Principal = Depends(deps.current),
                     engine: Engine = Depends(deps.read_engine)) -> dict[str, Any]:
    """Every collection with its CRSs and extent."""
    _fmt(f)
    base, extent = _base(request), features.district_extent(engine)
    return {"links": [_link(f"{base}/collections", "self")],
            "collections": [_info(c, base, extent) for c in COLLECTIONS.values()]}


@router.get("/collections/{collectionId}", response_model=CollectionInfo,
            summary="One feature collection")
def get_collection(collectionId: str, request: Request, f: Fmt = None,  # noqa: N803
                   _who: auth.Principal = Depends(deps.current),
                   engine: Engine = Depends(deps.read_engine)) -> dict[str, Any]:
    """One collection's description."""
    _fmt(f)
    return _info(collection(collectionId), _base(request), features.district_extent(engine))


@router.get("/collections/{collectionId}/queryables", response_model=Queryables,
            response_model_by_alias=True, summary="Queryable properties (JSON Schema)")
def queryables(collectionId: str, request: Request, f: Fmt = None,  # noqa: N803
               _who: auth.Principal = Depends(deps.current)) -> JSONResponse:
    """The properties a ``filter`` or a query parameter may name, with their types."""
    _fmt(f)
    c = collection(collectionId)
    props: dict[str, Any] = {"geometry": {"$ref": "https://geojson.org/schema/Geometry.json"}}
    for name, kind in c.properties.items():
        props[name] = ({"type": "string", "format": "date-time"} if kind == "date-time"
                       else {"type": kind})
    body = {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{_base(request)}/collections/{c.id}/queryables", "type": "object",
            "title": c.title, "properties": props, "additionalProperties": False}
    return JSONResponse(body, media_type="application/schema+json")


KNOWN = {"limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "filter", "filter-lang",
         "filter-crs", "generation", "f"}
Limit = Annotated[int, Query(
    ge=1, description=f"page size (at most {params.MAX_LIMIT}; a larger value gives the "
                      "maximum)", json_schema_extra={"maximum": params.MAX_LIMIT})]
Offset = Annotated[int, Query(ge=0, description="features to skip (the next link sets it)")]
Crs = Annotated[str | None, Query(description="CRS of the answer (URI); default CRS84")]
BBoxCrs = Annotated[str | None, Query(alias="bbox-crs", description="CRS of bbox (URI)")]
Filter = Annotated[str | None, Query(description="CQL2-text filter over the queryables")]
FilterLang = Annotated[str | None, Query(alias="filter-lang", description="cql2-text")]
FilterCrs = Annotated[str | None, Query(alias="filter-crs", description="CRS84 only")]
Generation = Annotated[int | None, Query(ge=1, description="territory generation (default: "
                                                            "the active one)")]


def _query(c: Collection, request: Request, page: tuple[int, int],
           spatial: tuple[str | None, str | None, str | None],
           cql: tuple[str | None, str | None, str | None], generation: int | None
           ) -> features.ItemsQuery:
    """The checked items query of a request (unknown parameters are refused)."""
    extra = {k: v for k, v in request.query_params.items() if k not in KNOWN}
    unknown = sorted(k for k in extra if k not in c.properties)
    if unknown:
        raise BadQueryParameter.field(unknown[0], "未知参数 (unknown parameter); 可用 (known): "
                                      + ", ".join(sorted(KNOWN | set(c.properties))))
    text, lang, fcrs = cql
    if lang not in (None, "cql2-text"):
        raise BadQueryParameter.field("filter-lang", f"只支持 cql2-text (only cql2-text), "
                                      f"got {lang!r}", code="invalid_filter")
    if crsmod.crs_param(fcrs, "filter-crs") != crsmod.DEFAULT:
        raise BadQueryParameter.field("filter-crs", "只支持 CRS84 (only CRS84)",
                                      code="invalid_crs")
    return features.ItemsQuery(
        limit=params.limit(page[0]), offset=page[1], crs=crsmod.crs_param(spatial[0]),
        bbox=params.bbox(spatial[1]), bbox_crs=crsmod.crs_param(spatial[2], "bbox-crs"),
        interval=params.interval(request.query_params.get("datetime")), filter=text,
        equals=extra, generation=generation)


def _scope(who: auth.Principal) -> features.Scope:
    """The caller's read scope."""
    s = auth.read_scope(who)
    return features.Scope(s["scope_prefixes"], s["scope_department"])


def _next(request: Request, offset: int, limit: int) -> str:
    """The URL of the next page."""
    return str(request.url.include_query_params(offset=offset + limit))


def _reader(c: Collection, primary: Engine, read: Engine) -> Engine:
    """Where a collection's features are read: the replica (``read``), but an editable draft
    layer from the primary, so QGIS sees the feature it has just written."""
    return primary if c.editable else read


@router.get("/collections/{collectionId}/items", response_model=FeatureCollection,
            summary="Features of a collection (GeoJSON)",
            responses={200: {"content": {GEOJSON: {}}}})
async def get_items(collectionId: str, request: Request,  # noqa: N803
                    limit: Limit = params.DEFAULT_LIMIT,
                    offset: Offset = 0, crs: Crs = None, bbox: str | None = None,
                    bbox_crs: BBoxCrs = None, filter: Filter = None,  # noqa: A002
                    filter_lang: FilterLang = None, filter_crs: FilterCrs = None,
                    generation: Generation = None, f: Fmt = None,
                    who: auth.Principal = Depends(deps.current),
                    engine: Engine = Depends(deps.engine),
                    read: Engine = Depends(deps.read_engine)) -> JSONResponse:
    """A page of features: ``bbox``, ``datetime``, ``filter`` and queryables narrow it;
    ``rel=next`` while more match."""
    _fmt(f)
    c = collection(collectionId)
    query = _query(c, request, (limit, offset), (crs, bbox, bbox_crs),
                   (filter, filter_lang, filter_crs), generation)
    page = await run_in_threadpool(features.items, _reader(c, engine, read), c, query,
                                   _scope(who))
    links = [_link(str(request.url), "self", GEOJSON),
             _link(f"{_base(request)}/collections/{c.id}", "collection")]
    if query.offset + len(page.features) < page.number_matched:
        links.append(_link(_next(request, query.offset, query.limit), "next", GEOJSON))
    body = {"type": "FeatureCollection", "features": page.features, "links": links,
            "numberMatched": page.number_matched, "numberReturned": len(page.features),
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds")}
    return JSONResponse(body, media_type=GEOJSON, headers={"Content-Crs": f"<{query.crs.uri}>"})


@router.get("/collections/{collectionId}/items/{featureId}", response_model=Feature,
            summary="One feature (GeoJSON)", responses={200: {"content": {GEOJSON: {}}}})
async def get_item(collectionId: str, featureId: str, request: Request,  # noqa: N803
                   crs: Crs = None, generation: Generation = None, f: Fmt = None,
                   who: auth.Principal = Depends(deps.current),
                   engine: Engine = Depends(deps.engine),
                   read: Engine = Depends(deps.read_engine)) -> JSONResponse:
    """One feature by its id (codes for territory and cameras, numbers for the rest)."""
    _fmt(f)
    c = collection(collectionId)
    query = features.ItemsQuery(crs=crsmod.crs_param(crs), generation=generation)
    feat = await run_in_threadpool(features.item, _reader(c, engine, read), c, featureId,
                                   query, _scope(who))
    href = f"{_base(request)}/collections/{c.id}"
    feat["links"] = [_link(f"{href}/items/{featureId}", "self", GEOJSON),
                     _link(href, "collection")]
    return JSONResponse(feat, media_type=GEOJSON, headers={"Content-Crs": f"<{query.crs.uri}>"})


# -- Part 4: create, replace, delete in the open draft ------------------------------------

ALLOW_ITEMS, ALLOW_ITEM = "GET, HEAD, OPTIONS, POST", "GET, HEAD, OPTIONS, PUT, DELETE"


def _editable(collection_id: str) -> str:
    """The level of an editable collection; any other collection refuses writes (405)."""
    c = collection(collection_id)
    if not c.editable:
        raise MethodNotAllowed(f"{c.id} 只读; 编辑请用草稿图层 draft_grids / draft_units "
                               "(read-only: edit the draft layers)", code="read_only")
    return drafts.LEVELS[c.id]


async def _body(request: Request) -> Any:
    """The request's JSON body; malformed → 400."""
    try:
        return await request.json()
    except ValueError:
        raise BadQueryParameter.field("body", "不是 JSON (not JSON)",
                                      code="invalid_feature") from None


def _content_crs(request: Request) -> crsmod.ServedCrs:
    """The CRS of a written feature (``Content-Crs`` header; default CRS84)."""
    return crsmod.crs_param((request.headers.get("content-crs") or "").strip("<>") or None,
                            "Content-Crs")


@router.options("/collections/{collectionId}/items", response_class=Response,
                include_in_schema=False)
@router.options("/collections/{collectionId}/items/{featureId}", response_class=Response,
                include_in_schema=False)
def options(collectionId: str, featureId: str | None = None) -> Response:  # noqa: N803
    """The methods a collection takes (QGIS asks before it offers editing)."""
    c = collection(collectionId)
    allow = ("GET, HEAD, OPTIONS" if not c.editable
             else ALLOW_ITEM if featureId else ALLOW_ITEMS)
    return Response(status_code=204, headers={"Allow": allow})


@router.post("/collections/{collectionId}/items", status_code=201, response_class=Response,
             summary="Add a grid or unit to the open draft (Part 4)")
async def create_item(collectionId: str, request: Request,  # noqa: N803
                      _who: auth.Principal = Depends(deps.require_planner_for_writes),
                      engine: Engine = Depends(deps.engine)) -> Response:
    """Planners and the district centre add a feature to the draft; ``Location`` names it."""
    level = _editable(collectionId)
    feat = drafts.parse(level, await _body(request), _content_crs(request))
    code = await run_in_threadpool(drafts.create, engine, level, feat)
    return Response(status_code=201, headers={
        "Location": f"{_base(request)}/collections/{collectionId}/items/{code}"})


@router.put("/collections/{collectionId}/items/{featureId}", status_code=204,
            response_class=Response, summary="Replace a grid or unit of the open draft (Part 4)")
async def replace_item(collectionId: str, featureId: str, request: Request,  # noqa: N803
                       _who: auth.Principal = Depends(deps.require_planner_for_writes),
                       engine: Engine = Depends(deps.engine)) -> Response:
    """Geometry, name, parent and kind replaced; the code stays."""
    level = _editable(collectionId)
    feat = drafts.parse(level, await _body(request), _content_crs(request), featureId)
    await run_in_threadpool(drafts.replace, engine, level, feat)
    return Response(status_code=204)


@router.delete("/collections/{collectionId}/items/{featureId}", status_code=204,
               response_class=Response,
               summary="Remove a grid or unit from the open draft (Part 4)")
async def delete_item(collectionId: str, featureId: str,  # noqa: N803
                      _who: auth.Principal = Depends(deps.require_planner_for_writes),
                      engine: Engine = Depends(deps.engine)) -> Response:
    """A grid goes only once it has no units."""
    level = _editable(collectionId)
    await run_in_threadpool(drafts.delete, engine, level, featureId)
    return Response(status_code=204)
