"""Boundary files for the boundaries tests: a small territory of strip units as GeoJSON."""

from __future__ import annotations

import json
from pathlib import Path

from shapely.geometry import box, mapping

X0, Y0, D = 120.600, 31.300, 0.001  # one grid ~95 m x 111 m
C = "320508001001"
G1, G2, G3 = (C + f"{i:03d}" for i in (1, 2, 3))
UNITS = 12  # units per grid, strips west to east


def feature(level: str, code: str, parent: str | None, geom) -> dict:
    """One GeoJSON feature with the import properties."""
    return {"type": "Feature", "geometry": mapping(geom),
            "properties": {"level": level, "code": code, "name": f"{level} {code}",
                           "parent_code": parent}}


def territory(grid_codes: tuple[str, ...] = (G1, G2, G3), units: int = UNITS) -> list[dict]:
    """District → street → community → 3 grids side by side → ``units`` strip units each
    (the units keep the codes and parents of G1, G2, G3 whatever ``grid_codes`` says)."""
    whole = box(X0, Y0, X0 + 3 * D, Y0 + D)
    feats = [feature("district", "320508", None, whole),
             feature("street", "320508001", "320508", whole),
             feature("community", C, "320508001", whole)]
    for i, (code, old) in enumerate(zip(grid_codes, (G1, G2, G3), strict=True)):
        x = X0 + i * D
        feats.append(feature("grid", code, C, box(x, Y0, x + D, Y0 + D)))
        w = D / units
        feats += [feature("unit", f"{old}{k + 1:03d}", old,
                          box(x + k * w, Y0, x + (k + 1) * w, Y0 + D)) for k in range(units)]
    return feats


def write(path: Path, feats: list[dict]) -> Path:
    """A FeatureCollection file at ``path``."""
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path
