"""Every endpoint declares a named response model, and the OpenAPI document describes every
successful answer with a schema (no database needed: the app is only built, never served)."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import pytest
from fastapi import FastAPI, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from typing_extensions import is_typeddict

from gis.settings import Settings

# Routes that answer with a file or an HTML page, not JSON: no response model.
NOT_JSON = {
    ("GET", "/docs"),  # Swagger UI page
    ("GET", "/docs/oauth2-redirect"),  # Swagger UI OAuth2 redirect page
    ("GET", "/redoc"),  # ReDoc page
    ("GET", "/tiles/basemap/{z}/{x}/{y}"),  # a basemap tile (image bytes)
    ("GET", "/tiles/{layer}/{z}/{x}/{y}.pbf"),  # a vector tile (MVT bytes)
    ("GET", "/ogc/api"),  # the OGC API's own OpenAPI 3.0 document
    ("GET", "/api/v1/events/export"),  # an .xlsx or .csv file
    ("GET", "/api/v1/assessment/export"),  # an .xlsx or .csv file
}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """The whole API (gis with boundaries and etl mounted), built without a database."""
    from wangge.app import create_app

    return create_app(Settings(), listen=False)


def _models(annotation: Any) -> list[type]:
    """The named models a response model names (a pydantic model, TypedDict or dataclass:
    itself, a list's items, a union's arms); an empty list when it names none (dict, Any)."""
    if is_typeddict(annotation) or dataclasses.is_dataclass(annotation) or (
            isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return [annotation]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and len(args) == 1:
        return _models(args[0])
    if origin in (typing.Union, types.UnionType):
        found = [_models(a) for a in args]
        return [m for ms in found for m in ms] if all(found) else []
    return []


def _api_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """(path, route) of every APIRoute, inside included routers too (newer FastAPI keeps an
    included router as one entry of ``app.routes``)."""
    out: list[tuple[str, APIRoute]] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append((prefix + r.path, r))
        elif hasattr(r, "original_router"):
            out += _api_routes(r.original_router.routes, prefix + r.include_context.prefix)
    return out


def _routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) of every API route."""
    return [(m, path, r) for path, r in _api_routes(app.routes) for m in r.methods]


def test_the_walk_finds_every_documented_operation(app) -> None:
    """The routes walked are at least those of the OpenAPI document (not the top level only)."""
    walked = {p for _m, p, r in _routes(app) if r.include_in_schema}
    assert set(app.openapi()["paths"]) <= walked


def test_every_endpoint_declares_a_named_response_model(app) -> None:
    """Each JSON route names pydantic models (not dict / Any); file and HTML pages are listed."""
    missing = []
    for method, path, route in _routes(app):
        if (method, path) in NOT_JSON:
            assert not route.include_in_schema, (method, path)
            continue
        if route.response_class is Response:  # answers without a body (201 Location, 204)
            continue
        if not _models(route.response_model):
            missing.append(f"{method} {path}: {route.response_model!r}")
    assert not missing, "routes without a named response_model:\n" + "\n".join(missing)
    assert NOT_JSON <= {(m, p) for m, p, _r in _routes(app)}, "NOT_JSON names a gone route"


def _refs(schema: dict[str, Any]) -> list[str]:
    """Component names a response schema points to (directly, as array items or in a union);
    empty when any part is an inline free-form schema."""
    if "$ref" in schema:
        return [schema["$ref"].rsplit("/", 1)[-1]]
    if schema.get("type") == "array":
        return _refs(schema.get("items", {}))
    arms = schema.get("anyOf") or schema.get("oneOf")
    if arms:
        found = [_refs(a) for a in arms]
        return [n for ns in found for n in ns] if all(found) else []
    return []


def test_openapi_describes_every_successful_answer(app) -> None:
    """Every 2xx answer of every operation has a JSON schema made of named components, each
    with its properties listed."""
    doc = app.openapi()
    components = doc["components"]["schemas"]
    problems, seen = [], 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            ok = {c: r for c, r in op["responses"].items() if c.startswith("2")}
            if not ok:
                problems.append(f"{method.upper()} {path}: no 2xx answer")
            for code, resp in ok.items():
                if "content" not in resp:  # no body: 204, or 201 with only a Location
                    continue
                seen += 1
                schema = resp.get("content", {}).get("application/json", {}).get("schema")
                names = _refs(schema) if schema else []
                if not names:
                    problems.append(f"{method.upper()} {path} {code}: schema {schema!r}")
                for n in names:
                    if not components.get(n, {}).get("properties"):
                        problems.append(f"{method.upper()} {path} {code}: {n} has no fields")
    assert not problems, "\n".join(problems)
    assert seen >= 30, seen


def test_answers_keep_keys_they_do_not_declare() -> None:
    """A key a domain row adds passes through (nothing is dropped), in a model's fields, in
    a domain TypedDict inside a model and in a TypedDict answer; a transition's absent keys
    stay absent rather than becoming null."""
    from pydantic import TypeAdapter

    from gis.api.answers import EventDetail, EventPage, TransitionAnswer

    row = {
        "id": 1, "uid": "16b52eeb-df19-424a-a5af-8f87c0d2fc0c", "item_code": "safety.fire",
        "class_code": "safety", "source": "worker", "description": "", "lon": None,
        "lat": None, "reported_at": "2026-01-01T00:00:00+08:00", "location_status": "unassigned",
        "location_method": "none", "grid_code": None, "unit_code": None,
        "community_code": None, "street_code": None, "worker": None, "status": "reported",
        "level": "grid", "due_at": None, "new_column": 7}
    page = EventPage.model_validate({"count": 1, "events": [row], "next_cursor": None,
                                     "new_key": 8}).model_dump(mode="json")
    assert page["events"][0]["new_column"] == 7 and page["new_key"] == 8
    detail = row | {"reporter": None, "received_at": row["reported_at"], "input_lon": None,
                    "input_lat": None, "input_crs": None, "building_id": None, "address": None,
                    "distance_m": None, "generation_id": None, "updated_at": row["reported_at"],
                    "closed_at": None, "dispatch": [],
                    "history": [{"at": row["reported_at"], "action": "reported",
                                 "from_status": None, "to_status": "reported", "actor": None,
                                 "note": None, "data": {}, "geom_wkt": "POINT(1 2)"}]}
    ta = TypeAdapter(EventDetail)
    out = ta.dump_python(ta.validate_python(detail), mode="json")
    assert out["new_column"] == 7 and out["history"][0]["geom_wkt"] == "POINT(1 2)"
    step = {"id": 1, "action": "start", "from": "dispatched", "to": "in_progress",
            "at": "2026-01-01T00:00:00+00:00", "actor": "tests"}
    ta = TypeAdapter(TransitionAnswer)
    out = ta.dump_python(ta.validate_python(step), mode="json")
    assert out == step and list(out) == list(step)
