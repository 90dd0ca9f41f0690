"""/open311/v2: Open311 GeoReport v2 for the 12345 hotline and other city systems, found
through the service discovery document ``/open311/discovery`` (``.json``, ``.xml``).

``services`` and ``services/{code}`` are public (the catalogue); ``requests`` and ``tokens``
need the ``api_key`` of an integrating system (``gis.access.systems``; as a parameter, the
spec's way, or as ``Authorization: Bearer``). A request is an event of the one intake; a
key reads only what its area holds. Every path answers JSON, or XML with the ``.xml`` suffix
(``.json`` too: ``services.json``, ``requests/12.xml``); errors are the spec's error list.
``jurisdiction_id`` is accepted and ignored (one district per server).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import parse_qsl

import psycopg2
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool

from gis.access import systems
from gis.access.auth import Principal
from gis.api import deps
from gis.api import open311 as wire
from gis.api.errors import pydantic_details
from gis.api.open311 import Open311Discovery
from gis.calendar import Calendar
from gis.errors import InvalidInput, NotFound, WanggeError
from gis.intake import open311
from gis.territory.locator import Locator

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
# a lost database or a statement timeout (as gis.api.errors answers them, in the spec's list)
OUTAGES = (OperationalError, PoolTimeout, psycopg2.OperationalError, psycopg2.InterfaceError)
_FIELDS = ("service_code", "lat", "long", "address_string", "address_id", "description",
           "media_url", "first_name", "last_name", "phone", "email", "device_id", "account_id")


def _fmt(request: Request) -> str:
    """The format the path asks for (its suffix)."""
    return wire.split_format(request.url.path)[1]


class Open311Route(APIRoute):
    """A route answering every domain error and bad parameter as the spec's error list."""

    def get_route_handler(self) -> Handler:
        """The handler, wrapped to turn errors into GeoReport v2 errors."""
        handler = super().get_route_handler()

        async def wrapped(request: Request) -> Response:
            """Run the route; errors → [{code, description}] in the path's format."""
            try:
                return await handler(request)
            except RequestValidationError as e:
                details = pydantic_details(list(e.errors()))
                msg = "; ".join(f"{d['field']}: {d['reason']}" for d in details[:5])
                return wire.error_answer(_fmt(request), InvalidInput(msg))
            except WanggeError as e:
                retry = request.app.state.settings.retry_after_s
                return wire.error_answer(_fmt(request), e, retry)
            except OUTAGES as e:
                retry = request.app.state.settings.retry_after_s
                return wire.error_answer(_fmt(request), wire.outage(e), retry)

        return wrapped


router = APIRouter(prefix="/open311", tags=["open311"], route_class=Open311Route)
ApiKey = Annotated[str | None, Query(max_length=200, description="Token of an integrating "
                                     "system (or Authorization: Bearer).")]


# POST requests: the spec's form fields (read by hand: attribute[code] keys vary)
_POST_DOC = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["service_code"],
        "properties": {name: {"type": "string"} for name in ("api_key", *_FIELDS)} | {
            "attribute[crs]": {"type": "string", "enum": list(open311.DATUMS)}},
    }}}}}


def _add(path: str, endpoint: Callable[..., Any], model: Any, method: str = "GET",
         summary: str = "", doc: dict[str, Any] | None = None) -> None:
    """Register ``endpoint`` at ``path``, ``path.json`` and ``path.xml``."""
    for suffix in ("", ".json", ".xml"):
        router.add_api_route(path + suffix, endpoint, methods=[method], response_model=model,
                             responses=wire.XML_DOC, summary=summary, openapi_extra=doc,
                             include_in_schema=suffix != "",
                             name=f"open311_{endpoint.__name__}{suffix.replace('.', '_')}")


def _token(request: Request, api_key: str | None) -> str | None:
    """The api_key parameter, else the bearer token of the Authorization header."""
    return api_key or deps._bearer(request)


def _system(engine: Engine, request: Request, api_key: str | None) -> Principal:
    """The integrating system calling (403 answers for a missing or wrong key)."""
    return systems.authenticate_system(engine, _token(request, api_key),
                                       f"{request.method} {request.url.path}")


# -- discovery ----------------------------------------------------------------------------


def get_discovery(request: Request) -> Response:
    """Where the GeoReport v2 endpoint is, its formats, and whom to ask for a key."""
    url = str(request.base_url).rstrip("/") + router.prefix + "/v2"
    return wire.answer(_fmt(request), "discovery", wire.discovery(url))


_add("/discovery", get_discovery, Open311Discovery, summary="Open311: service discovery")


# -- services -----------------------------------------------------------------------------


def get_services(request: Request, jurisdiction_id: str | None = None,
                 engine: Engine = Depends(deps.engine)) -> Response:
    """Every service (catalogue item), Chinese names first."""
    return wire.answer(_fmt(request), "services", open311.services(engine))


def get_service_definition(request: Request, service_code: str,
                           jurisdiction_id: str | None = None,
                           engine: Engine = Depends(deps.engine)) -> Response:
    """The attributes a request of one service may carry (``attribute[crs]``)."""
    code, fmt = wire.split_format(service_code)
    return wire.answer(fmt, "service_definition", open311.definition(engine, code))


_add("/v2/services", get_services, list[open311.Service], summary="Open311: the services")
router.add_api_route("/v2/services/{service_code}", get_service_definition, methods=["GET"],
                     response_model=open311.ServiceDefinition, responses=wire.XML_DOC,
                     summary="Open311: one service's definition (…/{code}.xml for XML)")


# -- requests -----------------------------------------------------------------------------


async def _form(request: Request) -> dict[str, str]:
    """The POST fields (form-encoded, the spec's way, or a JSON object), text values only."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            doc = await request.json()
        except ValueError:
            raise InvalidInput.field("body", "not valid JSON", "bad_json") from None
        if not isinstance(doc, dict):
            raise InvalidInput.field("body", "must be an object", "bad_body")
        return {k: str(v) for k, v in doc.items() if v is not None and not isinstance(v, dict)}
    if request.headers.get("content-type", "").startswith("multipart/"):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return _urlencoded(await request.body(), request.headers.get("content-type", ""))


def _urlencoded(body: bytes, content_type: str) -> dict[str, str]:
    """Form fields in the body's charset (UTF-8 unless the header names one, e.g. GBK), so
    Chinese sent unescaped or escaped reads back as sent (Starlette's parser reads latin-1)."""
    charset = "utf-8"
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"').lower()
    try:
        text = body.decode(charset)
        return dict(parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict"))
    except LookupError:
        raise InvalidInput.field("content-type", f"unknown charset {charset!r}",
                                 "bad_charset") from None
    except UnicodeDecodeError:
        raise InvalidInput.field("body", f"not valid {charset} text (name the charset in "
                                 "Content-Type, e.g. charset=GBK)", "bad_encoding") from None


def _new_request(fields: dict[str, str]) -> open311.NewRequest:
    """The POST fields → the domain's request (``attribute[code]`` → attributes)."""
    attrs = {k[len("attribute["):-1]: v for k, v in fields.items()
             if k.startswith("attribute[") and k.endswith("]")}
    return open311.NewRequest(**{k: fields.get(k) for k in _FIELDS}, attributes=attrs)


async def post_request(request: Request, api_key: ApiKey = None,
                       idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
                       engine: Engine = Depends(deps.engine),
                       locator: Locator = Depends(deps.locator),
                       cal: Calendar = Depends(deps.district_calendar)) -> Response:
    """Report one request into the event intake (located, checked for duplicates)."""
    fields = await _form(request)
    who = await run_in_threadpool(_system, engine, request, fields.get("api_key") or api_key)
    req = _new_request(fields)
    posted = await run_in_threadpool(open311.submit, engine, locator, req, who, idempotency_key,
                                     cal=cal)
    return wire.answer(_fmt(request), "service_requests", [posted])


def get_requests(request: Request, api_key: ApiKey = None,
                 service_request_id: str | None = None, service_code: str | None = None,
                 start_date: str | None = None, end_date: str | None = None,
                 status: str | None = None, jurisdiction_id: str | None = None,
                 engine: Engine = Depends(deps.engine)) -> Response:
    """Requests in the key's area: by ids, or by service codes, date span (≤ 90 days) and
    status (open, closed); newest first, at most 1000."""
    who = _system(engine, request, api_key)
    flt = open311.request_filter(engine, service_request_id=service_request_id,
                                 service_code=service_code, start_date=start_date,
                                 end_date=end_date, status=status)
    return wire.answer(_fmt(request), "service_requests", open311.find(engine, flt, who))


def get_request(request: Request, service_request_id: str, api_key: ApiKey = None,
                jurisdiction_id: str | None = None,
                engine: Engine = Depends(deps.engine)) -> Response:
    """One request (a list of one, as the spec answers); 404 outside the key's area."""
    rid, fmt = wire.split_format(service_request_id)
    who = _system(engine, request, api_key)
    if not (rid.isascii() and rid.isdigit()) or len(rid) > 18:
        raise NotFound(f"no request {rid!r}", code="event_not_found")
    return wire.answer(fmt, "service_requests", [open311.get(engine, int(rid), who)])


def get_token(request: Request, token: str, api_key: ApiKey = None,
              jurisdiction_id: str | None = None,
              engine: Engine = Depends(deps.engine)) -> Response:
    """The request a token (returned by POST requests) stands for."""
    value, fmt = wire.split_format(token)
    who = _system(engine, request, api_key)
    return wire.answer(fmt, "service_requests", [open311.by_token(engine, value, who)])


_add("/v2/requests", post_request, list[open311.Posted], "POST", "Open311: report a request",
     _POST_DOC)
_add("/v2/requests", get_requests, list[open311.ServiceRequest], summary="Open311: find requests")
router.add_api_route("/v2/requests/{service_request_id}", get_request, methods=["GET"],
                     response_model=list[open311.ServiceRequest], responses=wire.XML_DOC,
                     summary="Open311: one request (…/{id}.xml for XML)")
router.add_api_route("/v2/tokens/{token}", get_token, methods=["GET"],
                     response_model=list[open311.RequestToken], responses=wire.XML_DOC,
                     summary="Open311: the request of a token (…/{token}.xml for XML)")

