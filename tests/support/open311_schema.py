"""JSON Schemas of the GeoReport v2 answers, written from the specification
(wiki.open311.org/GeoReport_v2), and a checker that every Open311 answer of the tests meets.

What the schemas hold the server to: the fields the spec lists for each method, their types,
``status`` one of open/closed, ``type`` one of realtime/batch/blackbox, the attribute
``datatype`` vocabulary, and date-times in the W3C profile of ISO 8601 WITH a zone (the spec
requires it). Fields the spec marks optional may be null; no other fields are allowed, so a
renamed or misspelt field fails.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

# W3C date-time: YYYY-MM-DDThh:mm:ss(.s)?(Z|±hh:mm)
W3C = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object with exactly these fields: ``required`` must be there, ``optional`` may."""
    props = dict(required) | dict(optional or {})
    return {"type": "object", "properties": props, "required": list(required),
            "additionalProperties": False}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


STR = {"type": "string"}
TEXT = _nullable(STR)
TIME = {"type": "string", "pattern": W3C}

SERVICE = _obj(
    {"service_code": {"type": "string", "minLength": 1}, "service_name": STR,
     "metadata": {"type": "boolean"}, "type": {"enum": ["realtime", "batch", "blackbox"]}},
    {"jurisdiction_id": TEXT, "description": TEXT, "keywords": TEXT, "group": TEXT},
)
SERVICES = {"type": "array", "items": SERVICE}

ATTRIBUTE = _obj({
    "variable": {"type": "boolean"}, "code": {"type": "string", "minLength": 1},
    "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist",
                          "multivaluelist"]},
    "required": {"type": "boolean"}, "datatype_description": TEXT,
    "order": {"type": "integer", "minimum": 0}, "description": STR,
}, {"values": {"type": "array", "items": _obj({"key": STR, "name": STR})}})
SERVICE_DEFINITION = _obj({"service_code": STR,
                           "attributes": {"type": "array", "items": ATTRIBUTE}})

# POST requests: a service_request_id, or a token when the id comes later (batch services)
POSTED = {"type": "array", "minItems": 1, "items": {
    **_obj({}, {"service_request_id": STR, "token": TEXT, "service_notice": TEXT,
                "account_id": TEXT}),
    "anyOf": [{"required": ["service_request_id"]}, {"required": ["token"]}],
}}

REQUEST = _obj(
    {"service_request_id": {"type": "string", "minLength": 1},
     "status": {"enum": ["open", "closed"]}, "service_code": STR,
     "requested_datetime": TIME},
    {"status_notes": TEXT, "service_name": TEXT, "description": TEXT,
     "agency_responsible": TEXT, "service_notice": TEXT, "updated_datetime": _nullable(TIME),
     "expected_datetime": _nullable(TIME), "address": TEXT, "address_id": TEXT,
     "zipcode": TEXT, "lat": _nullable({"type": "number", "minimum": -90, "maximum": 90}),
     "long": _nullable({"type": "number", "minimum": -180, "maximum": 180}),
     "media_url": TEXT},
)
REQUESTS = {"type": "array", "items": REQUEST}
TOKENS = {"type": "array", "items": _obj({"service_request_id": TEXT, "token": STR})}
ERRORS = {"type": "array", "minItems": 1,
          "items": _obj({"code": {"type": "integer"}, "description": {"type": "string",
                                                                      "minLength": 1}})}

# Service discovery (wiki.open311.org/Service_discovery): where each API is, in which formats
DISCOVERY = _obj(
    {"changeset": TIME, "endpoints": {"type": "array", "minItems": 1, "items": _obj({
        "specification": {"type": "string", "format": "uri"},
        "url": {"type": "string", "format": "uri"}, "changeset": TIME,
        "type": {"enum": ["production", "test"]},
        "formats": {"type": "array", "items": {"enum": ["text/xml", "application/json"]}}})}},
    {"contact": TEXT, "key_service": TEXT},
)

SCHEMAS = {"discovery": DISCOVERY, "services": SERVICES,
           "service_definition": SERVICE_DEFINITION, "posted": POSTED, "requests": REQUESTS,
           "tokens": TOKENS, "errors": ERRORS}


def check(kind: str, doc: Any) -> Any:
    """Assert ``doc`` meets the GeoReport v2 schema of ``kind``; returns it."""
    validator = Draft202012Validator(SCHEMAS[kind], format_checker=FormatChecker())
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    assert not problems, f"not GeoReport v2 {kind}:\n" + "\n".join(problems)
    return doc
