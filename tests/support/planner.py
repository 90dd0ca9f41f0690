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
    from boundaries.export import feature_collection

    with engine.connect() as c:
        grids = [f for f in feature_collection(c)["features"]
                 if f["properties"]["level"] == "grid"]
    a, b = move_shared_edge(grids, metres)
    return as_bytes(grids), a, b


def file_moved(content: bytes, metres: float = 40.0,
               normalize: bool = False) -> tuple[bytes, tuple[str, str]]:
    """A boundary file (GeoJSON bytes) with a grid edge moved (``move_shared_edge``), units as
    they were: the new bytes and the two grids' codes."""
    fc = json.loads(content)
    codes = move_shared_edge(fc["features"], metres, normalize=normalize)
    return json.dumps(fc, ensure_ascii=False).encode(), codes


def move_shared_edge(features: list[dict], metres: float = 40.0,
                     normalize: bool = False) -> tuple[str, str]:
    """Move the longest edge two grids of one community share ``metres`` into the second (a
    strip of it passes to the first), as a planner does in QGIS; the features (GeoJSON, grids
    among them) are changed in place, units left as they were. The two grids' codes."""
    import shapely
    from shapely.geometry import mapping, shape

    grids = [f for f in features if f["properties"]["level"] == "grid"]
    _len, a, b = max(((shape(x["geometry"]).intersection(shape(y["geometry"])).length, x, y)
                      for x in grids for y in grids if x is not y
                      and x["properties"]["parent_code"] == y["properties"]["parent_code"]),
                     key=lambda t: t[0])
    ga, gb = shape(a["geometry"]), shape(b["geometry"])
    strip = gb.intersection(ga.buffer(metres / 100_000.0))
    grown = ga.union(strip)
    a["geometry"] = mapping(shapely.normalize(grown) if normalize else grown)
    b["geometry"] = mapping(gb.difference(strip))
    return a["properties"]["code"], b["properties"]["code"]


# -- a small town of street blocks for the first draft (buildings and streets stored) ---------
TOWN = (120.600, 31.305)  # south-west corner, inside the generated demo district's area
BLOCK = 0.0015  # street to street (~140 m east-west, ~170 m north-south)


def town_files(tmp_path: Path, nx: int = 4, ny: int = 3) -> tuple[Path, Path]:
    """A building file (six buildings of 5 floors in each of ``nx`` × ``ny`` street blocks)
    and a street file (the residential streets around and between the blocks), GeoJSON."""
    import geopandas as gpd
    from shapely.geometry import LineString

    x0, y0 = TOWN
    rows = []
    for i in range(nx):
        for j in range(ny):
            for k in range(6):
                x = x0 + i * BLOCK + 0.0002 + (k % 2) * 0.0006
                y = y0 + j * BLOCK + 0.0002 + (k // 2) * 0.0004
                rows.append({"bid": f"B{i}{j}{k}", "floors": 5, "name": f"{i}-{j}-{k}号楼",
                             "geometry": box(x, y, x + 0.0004, y + 0.00025)})
    buildings = gpd.GeoDataFrame(rows, crs="EPSG:4326")
    lines = [{"id": f"x{i}", "highway": "residential", "name": f"经{i}路",
              "geometry": LineString([(x0 + i * BLOCK - 0.00005, y0 - 0.0003),
                                      (x0 + i * BLOCK - 0.00005, y0 + ny * BLOCK + 0.0003)])}
             for i in range(nx + 1)]
    lines += [{"id": f"y{j}", "highway": "residential", "name": f"纬{j}路",
               "geometry": LineString([(x0 - 0.0003, y0 + j * BLOCK - 0.00005),
                                       (x0 + nx * BLOCK + 0.0003, y0 + j * BLOCK - 0.00005)])}
              for j in range(ny + 1)]
    bpath, spath = tmp_path / "town_buildings.geojson", tmp_path / "town_streets.geojson"
    buildings.to_file(bpath, driver="GeoJSON")
    gpd.GeoDataFrame(lines, crs="EPSG:4326").to_file(spath, driver="GeoJSON")
    return bpath, spath


def load_town(engine: Engine, tmp_path: Path, streets: bool = True) -> int:
    """The small town's buildings (and streets) stored as `wangge etl buildings` and `wangge
    etl streets` store them; the number of buildings."""
    from etl import buildings as bld
    from etl import streets as stl

    bpath, spath = town_files(tmp_path)
    report = bld.load_file(engine, bpath, commit=True)
    if streets:
        stl.load_file(engine, spath, commit=True)
    return report.inserted


def planner_page(engine: Engine, role: str = "planner", area: str | None = None,
                 lang: str = "zh"):
    """The planner's page (an AppTest) logged in with a token of ``role``."""
    from streamlit.testing.v1 import AppTest

    from gis.access.auth import create_token

    page = Path(__file__).resolve().parents[2] / "dashboard" / "pages" / "planner.py"
    at = AppTest.from_file(str(page), default_timeout=120)
    at.session_state["wg_lang"] = lang
    at.session_state["wg_token"] = create_token(engine, role, area, name="planner-wang")["token"]
    return at


def page_text(at) -> str:
    """Every text of an AppTest run: markdown, alerts, metrics, captions, titles."""
    parts = [m.value for m in at.markdown] + [e.value for e in at.error]
    parts += [e.value for e in at.warning] + [e.value for e in at.info]
    parts += [e.value for e in at.success] + [c.value for c in at.caption]
    parts += [f"{m.label}={m.value}" for m in at.metric] + [x.value for x in at.title]
    return "\n".join(str(p) for p in parts)
