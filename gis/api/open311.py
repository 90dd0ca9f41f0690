"""Open311 GeoReport v2 on the wire: JSON and XML, the spec's errors, discovery.

The format is the path's suffix (``services.json``, ``requests/12.xml``; none: JSON). XML
is written with the standard library's ElementTree (the documents are small and flat; no
dependency needed), UTF-8 with its declaration. Errors are the spec's list of
``{code, description}``, ``code`` the HTTP status: the house's status table
(``gis.api.errors.status_for``) with the two changes GeoReport v2 prescribes: bad input is
400 (not 422) and a missing or invalid ``api_key`` 403 (not 401).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import Response
from pydantic import BaseModel

from gis.api.errors import status_for
from gis.api.params import error_responses
from gis.clock import CST
from gis.db.engine import is_query_timeout
from gis.errors import QueryTimeout, Unavailable, WanggeError

log = logging.getLogger("gis.api")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")
# the spec's statuses for what the house answers otherwise
SPEC_STATUS = {422: 400, 401: 403}
# the element of each item of a list, by the list's element (XML)
ITEM_TAG = {"services": "service", "service_requests": "request", "attributes": "attribute",
            "values": "value", "errors": "error", "endpoints": "endpoint", "formats": "format"}
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# when this server's GeoReport v2 endpoint last changed (service discovery's changeset)
CHANGESET = datetime(2026, 12, 5, tzinfo=CST)


class Open311Endpoint(BaseModel):
    """One API of a service discovery document."""

    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Open311Discovery(BaseModel):
    """The service discovery document: where the GeoReport v2 endpoint is."""

    changeset: str
    contact: str
    key_service: str
    endpoints: list[Open311Endpoint]


class Open311Error(BaseModel):
    """One error: the HTTP status and what was wrong."""

    code: int
    description: str


# The answers in the OpenAPI document: JSON by the response model, XML too; the spec's error
# list for what the routes refuse and for outages (503, 504), the house's error body for what
# the guards in front of every route answer (422: a NUL character in the query; 500).
XML_DOC: dict[int | str, dict[str, Any]] = error_responses(422, 500) | {
    200: {"content": {"text/xml": {"schema": {"type": "string"}}}},
    400: {"model": list[Open311Error], "description": "Bad input (the spec's error list)."},
    403: {"model": list[Open311Error], "description": "api_key missing or not a system's."},
    404: {"model": list[Open311Error], "description": "Not found (or outside the key's area)."},
    409: {"model": list[Open311Error],
          "description": "A request with this Idempotency-Key is still being stored."},
    503: {"model": list[Open311Error],
          "description": "The database is unreachable; nothing was stored; retry after "
                         "Retry-After."},
    504: {"model": list[Open311Error], "description": "The query took too long."},
}


def split_format(value: str) -> tuple[str, str]:
    """``'12.xml'`` → ``('12', 'xml')``; no known suffix: ``(value, 'json')``."""
    for fmt in FORMATS:
        if value.endswith("." + fmt):
            return value[: -len(fmt) - 1], fmt
    return value, "json"


def plain(value: Any) -> Any:
    """Domain values (dataclasses, TypedDicts, lists) → JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _text(value: Any) -> str:
    """An XML element's text (booleans as true/false, null as empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _element(tag: str, value: Any) -> ET.Element:
    """One XML element of a JSON value: objects nest, lists repeat ``ITEM_TAG[tag]``."""
    el = ET.Element(tag)
    if isinstance(value, dict):
        for k, v in value.items():
            el.append(_element(k, v))
    elif isinstance(value, list):
        for v in value:
            el.append(_element(ITEM_TAG.get(tag, "item"), v))
    else:
        el.text = _text(value)
    return el


def to_xml(root: str, doc: Any) -> bytes:
    """A JSON document under the root element ``root``, with the UTF-8 declaration."""
    body = ET.tostring(_element(root, doc), encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")


def answer(fmt: str, root: str, doc: Any, status: int = 200) -> Response:
    """The document in the asked format; ``root``: the XML root (services, service_requests,
    service_definition, errors)."""
    doc = plain(doc)
    if fmt == "xml":
        return Response(to_xml(root, doc), status_code=status, media_type=XML_TYPE)
    raw = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    return Response(raw, status_code=status, media_type=JSON_TYPE)


def error_answer(fmt: str, exc: WanggeError, retry_after_s: int | None = None) -> Response:
    """A domain error as the spec's error list, its status as GeoReport v2 prescribes."""
    status = status_for(exc)
    status = SPEC_STATUS.get(status, status)
    res = answer(fmt, "errors", [{"code": status, "description": exc.message}], status)
    if status == 503 and retry_after_s is not None:
        res.headers["Retry-After"] = str(retry_after_s)
    return res


def discovery(url: str) -> dict[str, Any]:
    """The service discovery document of the GeoReport v2 endpoint at ``url``."""
    changeset = CHANGESET.isoformat(timespec="seconds")
    return {
        "changeset": changeset,
        "contact": "区综治中心（网格化服务管理中心）District command centre",
        "key_service": "对接系统的 api_key 由区综治中心签发：wangge token create --role "
                       "district_centre --name 12345-hotline（或街道、社区调度员角色及其区域）",
        "endpoints": [{"specification": SPECIFICATION, "url": url, "changeset": changeset,
                       "type": "production", "formats": ["text/xml", "application/json"]}],
    }


def outage(exc: Exception) -> WanggeError:
    """A lost database (503) or a statement timeout (504) as the typed error to answer."""
    if is_query_timeout(exc):
        log.warning("statement timeout: %s", type(exc).__name__)
        return QueryTimeout()
    log.error("database unavailable: %s", type(exc).__name__)
    return Unavailable("the database is unreachable; nothing was stored; retry later",
                       code="service_unavailable")
