"""Boundary files of the planner's page tests: the small territory and the same with one
grid edge moved, as uploaded bytes."""

from __future__ import annotations

import json
from pathlib import Path

from shapely.geometry import box
from sqlalchemy import Engine

from support.boundary_files import G1, G2, G3, UNITS, X0, Y0, C, D, feature, territory

W = D / UNITS  # one strip unit's width
STRIP = (X0 + D + W / 2, Y0 + D / 2)  # inside G2's first unit, the strip that passes to G1


def as_bytes(feats: list[dict]) -> bytes:
    """A FeatureCollection as uploaded bytes."""
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def moved_edge() -> list[dict]:
    """The small territory with the G1 | G2 edge moved one strip east: G2's first unit passes
    to G1 (under a new code of G1)."""
    feats = [f for f in territory() if f["properties"]["level"] != "grid"
             and f["properties"]["code"] != f"{G2}001"]
    feats += [feature("grid", G1, C, box(X0, Y0, X0 + D + W, Y0 + D)),
              feature("grid", G2, C, box(X0 + D + W, Y0, X0 + 2 * D, Y0 + D)),
              feature("grid", G3, C, box(X0 + 2 * D, Y0, X0 + 3 * D, Y0 + D)),
              feature("unit", f"{G1}{UNITS + 1:03d}", G1, box(X0 + D, Y0, X0 + D + W, Y0 + D))]
    return feats


def base_district(engine: Engine, tmp_path: Path) -> int:
    """The small territory imported and activated through the pipeline; its generation."""
    from boundaries.core import run_import

    path = tmp_path / "base.geojson"
    path.write_bytes(as_bytes(territory()))
    res = run_import(engine, path, commit=True, description="base")
    assert res.report["committed"], res.report["groups"]
    return res.report["generation"]


def grids_moved(engine: Engine, metres: float = 40.0) -> tuple[bytes, str, str]:
    """The active grids only, the longest edge two grids of one community share moved
    ``metres`` into the second (a strip of it passes to the first): the file's bytes and the
    two grids' codes. The units are left to the re-cut."""
    from shapely.geometry import mapping, shape

    from boundaries.export import feature_collection

    with engine.connect() as c:
        grids = [f for f in feature_collection(c)["features"]
                 if f["properties"]["level"] == "grid"]
    _len, a, b = max(((shape(x["geometry"]).intersection(shape(y["geometry"])).length, x, y)
                      for x in grids for y in grids if x is not y
                      and x["properties"]["parent_code"] == y["properties"]["parent_code"]),
                     key=lambda t: t[0])
    ga, gb = shape(a["geometry"]), shape(b["geometry"])
    strip = gb.intersection(ga.buffer(metres / 100_000.0))
    a["geometry"], b["geometry"] = mapping(ga.union(strip)), mapping(gb.difference(strip))
    return as_bytes(grids), a["properties"]["code"], b["properties"]["code"]
