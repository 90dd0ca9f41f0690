"""Walk the API's own OpenAPI document: every operation, a valid request for it, and the same
request with one parameter or body field replaced (helpers of the fuzz and injection tests)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

GRID = "320508001001001"
# values that let a request reach the code behind validation, by parameter name
KNOWN: dict[str, Any] = {
    "since": "2026-01-01T00:00:00+08:00", "until": "2026-02-01T00:00:00+08:00",
    "now": "2026-01-15T00:00:00+08:00", "day": "2026-01-02", "month": "2026-01",
    "near": "120.60,31.30", "item": "safety.fire", "code": GRID, "grid": GRID,
    "area": GRID[:12], "worker": "W" + GRID, "crs": "wgs84", "lon": 120.6, "lat": 31.3,
    "bbox": "120.5,31.2,120.7,31.4", "format": "json", "level": None,
}
# a tiny boundary file: one grid polygon (the upload endpoint needs a file to reach its code)
BOUNDARY = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
    "code": GRID, "name": "g", "level": "grid"}, "geometry": {"type": "Polygon", "coordinates": [
        [[120.60, 31.30], [120.61, 31.30], [120.61, 31.31], [120.60, 31.31], [120.60, 31.30]]]}}]}


@dataclass
class Slot:
    """One place a value goes: a path/query/header parameter, or a top-level body field."""

    where: str  # path | query | header | body | file
    name: str
    schema: dict[str, Any]

    @property
    def types(self) -> set[str]:
        """JSON types the schema allows."""
        return _types(self.schema)

    @property
    def label(self) -> str:
        """where:name."""
        return f"{self.where}:{self.name}"


@dataclass
class Operation:
    """One method on one path, with its slots and a valid base request."""

    method: str
    path: str
    slots: list[Slot] = field(default_factory=list)
    media: str | None = None
    ids: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """METHOD /path."""
        return f"{self.method.upper()} {self.path}"

    def request(self, slot: Slot | None = None, value: Any = None) -> dict[str, Any]:
        """httpx keyword arguments of a valid request, with ``slot`` set to ``value``."""
        path_values, query, headers, body = {}, {}, {}, {}
        for s in self.slots:
            v = value if s is slot else self._default(s)
            if v is _SKIP:
                continue
            if s.where == "path":
                path_values[s.name] = v
            elif s.where == "query":
                query[s.name] = v
            elif s.where == "header":
                headers[s.name] = v
            elif s.where == "body":
                body[s.name] = v
        url = self.path
        for k, v in path_values.items():
            url = url.replace("{" + k + "}", _quote(str(v)))
        kw: dict[str, Any] = {"method": self.method.upper(), "url": url,
                              "params": [(k, _q(v)) for k, v in query.items()],
                              "headers": headers}
        if self.media == "application/json":
            kw["content"] = json.dumps(body, ensure_ascii=False).encode()
            kw["headers"] = {**headers, "content-type": "application/json"}
        elif self.media == "multipart/form-data":
            doc = copy.deepcopy(BOUNDARY)
            if slot is not None and slot.where == "file":
                doc["features"][0]["properties"][slot.name] = value
            kw["files"] = {"file": ("b.geojson", json.dumps(doc).encode(), "application/json")}
        return kw

    def _default(self, s: Slot) -> Any:
        """The value a slot gets when it is not the one under test (_SKIP: left out)."""
        if s.where == "path":
            return self.ids.get(s.name, KNOWN.get(s.name, 1))
        if s.where == "file":
            return _SKIP
        if not s.schema.get("required_", False):
            return _SKIP
        return sample(s.name, s.schema)


_SKIP = object()


def _quote(v: str) -> str:
    """Percent-encode a path segment."""
    from urllib.parse import quote

    return quote(v, safe="")


def _q(v: Any) -> str:
    """A query value as text."""
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def _types(schema: dict[str, Any]) -> set[str]:
    """JSON types of a (resolved) schema, through anyOf / oneOf."""
    out: set[str] = set()
    if "type" in schema:
        t = schema["type"]
        out |= set(t) if isinstance(t, list) else {t}
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            out |= _types(sub)
    if "enum" in schema and not out:
        out.add("string")
    return out - {"null"}


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref."""
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def _enum(schema: dict[str, Any]) -> list[Any] | None:
    """The enum of a schema (through anyOf)."""
    if "enum" in schema:
        return schema["enum"]
    for sub in schema.get("anyOf", []):
        if "enum" in sub:
            return sub["enum"]
    return None


def sample(name: str, schema: dict[str, Any]) -> Any:
    """A valid value for a parameter or field."""
    if name in KNOWN and KNOWN[name] is not None:
        return KNOWN[name]
    if (e := _enum(schema)) is not None:
        return e[0]
    types = _types(schema)
    if "integer" in types:
        return 1
    if "number" in types:
        return 1.0
    if "boolean" in types:
        return False
    if "array" in types:
        return []
    if "object" in types:
        return {}
    return "x"


def operations(doc: dict[str, Any], ids: dict[str, Any] | None = None) -> Iterator[Operation]:
    """Every operation of the document with its slots."""
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            o = Operation(method, path, ids=ids or {})
            for p in op.get("parameters", []):
                schema = dict(_resolve(doc, p.get("schema", {})))
                schema["required_"] = p.get("required", False)
                o.slots.append(Slot(p["in"], p["name"], schema))
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                o.media = "application/json"
                body = _resolve(doc, content["application/json"]["schema"])
                if "oneOf" in body:  # POST /events: one report, a batch or a list
                    body = _resolve(doc, body["oneOf"][0])
                required = set(body.get("required", []))
                for name, sub in body.get("properties", {}).items():
                    schema = dict(_resolve(doc, sub))
                    schema["required_"] = name in required
                    o.slots.append(Slot("body", name, schema))
            elif "multipart/form-data" in content:
                o.media = "multipart/form-data"
                for name in ("code", "name", "parent_code", "kind", "level"):
                    o.slots.append(Slot("file", name, {"type": "string"}))
            yield o


def string_slots(op: Operation) -> list[Slot]:
    """The slots taking text (strings, or arrays of strings)."""
    out = []
    for s in op.slots:
        items = s.schema.get("items") or next(
            (a.get("items") for a in s.schema.get("anyOf", []) if "items" in a), None)
        if "string" in s.types or (items and "string" in _types(items)):
            out.append(s)
    return out


def text_value(slot: Slot, value: str) -> Any:
    """``value`` shaped for the slot: a list for array slots."""
    return [value] if "array" in slot.types and "string" not in slot.types else value


def demo_ids(engine: Engine) -> dict[str, Any]:
    """Ids of rows that exist on the demo district: an event, a generation, a spare token."""
    from gis.access import auth
    from gis.intake import events
    from gis.territory.locator import Locator

    loc = Locator(engine, 300.0, 60.0)
    loc.refresh(force=True)
    _s, stored, _r = events.ingest(engine, loc, [events.Report(
        item="safety.fire", source="worker", lon=None, lat=None, address=None)])
    spare = auth.create_token(engine, "grid_worker", area=GRID, worker="W" + GRID,
                              name="spare")["id"]
    with engine.connect() as conn:
        gen = conn.execute(text("SELECT max(id) FROM generation")).scalar()
    eid = stored[0]["id"]
    return {"event_id": eid, "original_id": eid, "generation": gen, "token_id": spare,
            "dispatch_id": 1, "grid": GRID, "code": GRID}
