"""A structural GeoJSON (RFC 7946) validator: every problem with a JSON path and a reason."""

from __future__ import annotations

from typing import Any

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon", "GeometryCollection")
# nesting depth of "coordinates" per geometry type: 0 = one position
DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2,
         "MultiPolygon": 3}


def _number(v: Any) -> bool:
    """A JSON number (not a boolean)."""
    return isinstance(v, int | float) and not isinstance(v, bool)


def _position(p: Any, path: str, errors: list[str]) -> int:
    """Check one position; returns its dimension (0 when bad)."""
    if not isinstance(p, list):
        errors.append(f"{path}: a position must be an array of numbers, got {type(p).__name__}")
        return 0
    if len(p) < 2:
        errors.append(f"{path}: a position needs at least 2 numbers (lon, lat), got {len(p)}")
        return 0
    if not all(_number(v) for v in p):
        errors.append(f"{path}: a position must contain only numbers")
        return 0
    return len(p)


def _coords(c: Any, depth: int, path: str, errors: list[str]) -> None:
    """Check nested coordinate arrays of the given depth."""
    if depth == 0:
        _position(c, path, errors)
        return
    if not isinstance(c, list):
        errors.append(f"{path}: must be an array, got {type(c).__name__}")
        return
    for i, child in enumerate(c):
        _coords(child, depth - 1, f"{path}[{i}]", errors)
        if len(errors) > 50:
            return


def _bbox(obj: dict, path: str, errors: list[str]) -> None:
    """A bbox, when present, is an array of 2*n numbers (n >= 2)."""
    if "bbox" not in obj:
        return
    b = obj["bbox"]
    if not isinstance(b, list) or not all(_number(v) for v in b):
        errors.append(f"{path}.bbox: must be an array of numbers")
    elif len(b) < 4 or len(b) % 2:
        errors.append(f"{path}.bbox: must have 2*n numbers (n >= 2, e.g. 4), got {len(b)}")


def check_geometry(g: Any, path: str, errors: list[str]) -> None:
    """Check one geometry object (not null)."""
    if not isinstance(g, dict):
        errors.append(f"{path}: a geometry must be an object, got {type(g).__name__}")
        return
    t = g.get("type")
    if "type" not in g:
        errors.append(f"{path}: missing \"type\"")
        return
    if t not in GEOMETRY_TYPES:
        errors.append(f"{path}.type: unknown geometry type {t!r} (one of "
                      f"{', '.join(GEOMETRY_TYPES)})")
        return
    _bbox(g, path, errors)
    if t == "GeometryCollection":
        if "geometries" not in g or not isinstance(g["geometries"], list):
            errors.append(f"{path}: a GeometryCollection needs a \"geometries\" array")
            return
        for i, child in enumerate(g["geometries"]):
            check_geometry(child, f"{path}.geometries[{i}]", errors)
        return
    if "coordinates" not in g:
        errors.append(f"{path}: a {t} needs a \"coordinates\" member")
        return
    _coords(g["coordinates"], DEPTH[t], f"{path}.coordinates", errors)


def check_feature(f: Any, path: str, errors: list[str]) -> None:
    """Check one Feature."""
    if not isinstance(f, dict):
        errors.append(f"{path}: a feature must be an object, got {type(f).__name__}")
        return
    if f.get("type") != "Feature":
        errors.append(f"{path}.type: must be \"Feature\""
                      + ("" if "type" in f else " (missing)"))
        return
    _bbox(f, path, errors)
    if "id" in f and not (isinstance(f["id"], str) or _number(f["id"])):
        errors.append(f"{path}.id: must be a string or a number, got {type(f['id']).__name__}")
    if "geometry" not in f:
        errors.append(f"{path}: missing \"geometry\" (use null for none)")
    elif f["geometry"] is not None:
        check_geometry(f["geometry"], f"{path}.geometry", errors)
    if "properties" not in f:
        errors.append(f"{path}: missing \"properties\" (use {{}} or null for none)")
    elif f["properties"] is not None and not isinstance(f["properties"], dict):
        errors.append(f"{path}.properties: must be an object or null")


def check(doc: Any) -> list[str]:
    """Problems of a parsed GeoJSON document (empty list = structurally valid)."""
    errors: list[str] = []
    if not isinstance(doc, dict):
        return [f"$: a GeoJSON document must be an object, got {type(doc).__name__}"]
    if "type" not in doc:
        return ["$: missing \"type\" (FeatureCollection, Feature or a geometry type)"]
    t = doc["type"]
    if t == "FeatureCollection":
        _bbox(doc, "$", errors)
        feats = doc.get("features")
        if not isinstance(feats, list):
            errors.append("$: a FeatureCollection needs a \"features\" array")
        else:
            for i, f in enumerate(feats):
                check_feature(f, f"$.features[{i}]", errors)
                if len(errors) > 50:
                    break
    elif t == "Feature":
        check_feature(doc, "$", errors)
    else:
        check_geometry(doc, "$", errors)
    return errors
