"""Read boundaries from GeoJSON, GeoPackage (layer by name) or zipped Shapefile into WGS84."""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from boundaries import geojson
from boundaries.model import Feature, UnreadableFile, zh_en
from gis import safejson
from gis.geo.crs import Resolved, UnknownCrsError, resolve
from gis.territory.generations import LEVELS

FIELDS = ("code", "name", "parent_code", "kind", "level")
WGS84 = CRS.from_epsg(4326)  # coordinates of a file that declares no CRS
CODE_LENGTH = {6: "district", 9: "street", 12: "community", 15: "grid", 18: "unit"}


@dataclass
class Source:
    """Everything read from one file."""

    path: str
    features: list[Feature]
    crs: str
    layers: list[str] = field(default_factory=list)

    @property
    def levels(self) -> list[str]:
        """Levels present in the file, top-down."""
        present = {f.level for f in self.features}
        return [lvl for lvl in LEVELS if lvl in present]


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    """``["code=GRID_ID", ...]`` → ``{"code": "GRID_ID"}``; unknown targets are an error."""
    out = {f: f for f in FIELDS}
    for it in items or []:
        if "=" not in it:
            raise ValueError(f"map {it!r}: expected TARGET=FIELD, e.g. code=GRID_CODE")
        k, v = (s.strip() for s in it.split("=", 1))
        if k not in FIELDS:
            raise ValueError(f"map {it!r}: target must be one of {', '.join(FIELDS)}")
        out[k] = v
    return out


# -- coordinate systems ---------------------------------------------------------------------
def _resolved(crs: str | None) -> Resolved:
    """The CRS (or datum) of the coordinates, EPSG:4326 when none is given or declared."""
    try:
        return resolve(crs if crs is not None else WGS84)
    except UnknownCrsError as e:
        raise UnreadableFile(str(e)) from None


# -- GeoJSON --------------------------------------------------------------------------------
def _ring(coords: list, where: str, problems: list[str]) -> list | None:
    """A ring as (x, y) tuples, closed; notes unclosed / too-short rings; None when unusable."""
    pts = [(float(p[0]), float(p[1])) for p in coords]
    if pts and pts[0] != pts[-1]:
        problems.append(f"{where} is not closed (first and last positions differ)")
        pts.append(pts[0])
    if len(pts) < 4 or len({*pts}) < 3:
        problems.append(f"{where} has {len(coords)} position(s); a ring needs at least 4 "
                        "with 3 distinct")
        return None
    return pts


def _polygon(rings: list, where: str, problems: list[str]) -> shapely.Polygon | None:
    """Polygon from GeoJSON rings; an unusable shell gives None, unusable holes are dropped."""
    if not rings:
        return None
    shell = _ring(rings[0], f"{where} exterior ring", problems)
    if shell is None:
        return None
    holes = [h for i, r in enumerate(rings[1:])
             if (h := _ring(r, f"{where} hole {i + 1}", problems)) is not None]
    return shapely.Polygon(shell, holes)


class ParsedGeometry(NamedTuple):
    """A GeoJSON geometry read: the shapely geometry, its GeoJSON type, ring problems."""

    geom: BaseGeometry | None
    type: str | None
    problems: list[str]


def geometry_from_geojson(g: dict | None) -> ParsedGeometry:
    """(shapely geometry, GeoJSON type, ring problems) of a structurally valid geometry."""
    if g is None:
        return ParsedGeometry(None, None, [])
    t = g["type"]
    problems: list[str] = []
    if t == "Polygon":
        p = _polygon(g["coordinates"], "polygon", problems)
        return ParsedGeometry((p if p is not None else shapely.Polygon()), t, problems)
    if t == "MultiPolygon":
        parts = [p for i, rings in enumerate(g["coordinates"])
                 if (p := _polygon(rings, f"polygon {i + 1}", problems)) is not None]
        return ParsedGeometry(shapely.MultiPolygon(parts), t, problems)
    try:
        return ParsedGeometry(shapely.from_geojson(json.dumps(g)), t, problems)
    except Exception:
        return ParsedGeometry(None, t, [f"cannot build the {t}"])


def _read_geojson(path: Path, crs: str | None) -> tuple[list[dict], list, str]:
    """(properties, geometries, crs label) of a GeoJSON file; UnreadableFile when invalid."""
    try:  # nesting depth checked before parsing; NUL / lone surrogates refused after
        doc = safejson.loads(path.read_bytes())
    except safejson.JSONRefused as e:
        raise UnreadableFile(f"{path.name}: {e.field}: {e.reason}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UnreadableFile(zh_en(f"{path.name}：不是有效的 JSON",
                                   f"{path.name}: not valid JSON: {e}")) from None
    errors = geojson.check(doc)
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise UnreadableFile(zh_en(f"{path.name}：不是有效的 GeoJSON（{len(errors)} 处错误）",
                                   f"{path.name}: not valid GeoJSON: " + "; ".join(errors[:5])
                                   + more))
    declared = None
    c = doc.get("crs")
    if isinstance(c, dict) and isinstance(c.get("properties"), dict):
        declared = c["properties"].get("name")
    if doc["type"] == "FeatureCollection":
        feats = doc["features"]
    elif doc["type"] == "Feature":
        feats = [doc]
    else:
        feats = [{"type": "Feature", "properties": {}, "geometry": doc}]
    props = [f.get("properties") or {} for f in feats]
    geoms = [geometry_from_geojson(f.get("geometry")) for f in feats]
    return props, geoms, crs or declared


# -- GeoPackage / Shapefile ----------------------------------------------------------------
def _ogr_path(path: Path) -> str:
    """Path GDAL can open; a zipped Shapefile goes through /vsizip/."""
    if path.suffix.lower() != ".zip":
        return str(path)
    try:
        with zipfile.ZipFile(path) as z:
            shps = [n for n in z.namelist() if n.lower().endswith(".shp")]
    except zipfile.BadZipFile as e:
        raise UnreadableFile(zh_en(f"{path.name}：不是 zip 文件",
                                   f"{path.name}: not a zip file: {e}")) from None
    if not shps:
        raise UnreadableFile(zh_en(f"{path.name}：zip 中没有 .shp 文件",
                                   f"{path.name}: the zip holds no .shp file"))
    if len(shps) > 1:
        raise UnreadableFile(zh_en(
            f"{path.name}：zip 中有多个 Shapefile（{'、'.join(shps)}），每次导入只放一个",
            f"{path.name}: the zip holds several Shapefiles ({', '.join(shps)}); zip one per "
            "import"))
    return f"/vsizip/{path.resolve()}/{shps[0]}"


def _read_ogr(path: Path, layer: str | None, crs: str | None
              ) -> tuple[list[dict], list, str, list[str], list[str | None]]:
    """Read with pyogrio; several GeoPackage layers named after levels are read together."""
    import pyogrio

    src = _ogr_path(path)
    try:
        layers = [str(r[0]) for r in pyogrio.list_layers(src)]
    except Exception as e:
        raise UnreadableFile(zh_en(f"{path.name}：无法打开", f"{path.name}: cannot open: {e}")
                             ) from None
    if layer is not None:
        if layer not in layers:
            raise UnreadableFile(zh_en(
                f"{path.name}：没有图层 layer {layer!r}，现有图层：{'、'.join(layers)}",
                f"{path.name}: no layer {layer!r}; layers: {', '.join(layers)}"))
        chosen = [layer]
    elif len(layers) == 1:
        chosen = layers
    elif all(name in LEVELS for name in layers):
        chosen = layers
    else:
        raise UnreadableFile(zh_en(
            f"{path.name}：有多个图层（{'、'.join(layers)}）：用 `layer` 选项选一个，"
            "或按层级命名图层",
            f"{path.name}: several layers ({', '.join(layers)}); choose one with the `layer` "
            "option, or name the layers after levels"))
    props: list[dict] = []
    geoms: list = []
    layer_levels: list[str | None] = []
    label = crs
    for name in chosen:
        try:
            df = pyogrio.read_dataframe(src, layer=name)
        except Exception as e:
            raise UnreadableFile(zh_en(f"{path.name}：无法读取图层 {name!r}",
                                       f"{path.name}: cannot read layer {name!r}: {e}")
                                 ) from None
        if crs is None and df.crs is not None:
            label = df.crs.to_string()
        gser = df.geometry
        attrs = df.drop(columns=[df.geometry.name]).to_dict("records")
        for rec, g in zip(attrs, gser, strict=True):
            props.append({k: _plain(v) for k, v in rec.items()})
            geoms.append((g, g.geom_type if g is not None else None, []))
            layer_levels.append(name if len(chosen) > 1 else None)
    return props, geoms, label, chosen, layer_levels


def _plain(v: Any) -> Any:
    """numpy / pandas scalars → plain Python; NaN → None."""
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _text(v: Any) -> str | None:
    """A property as text; integral floats lose their '.0'."""
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    return s or None


def read(path: str | Path, *, crs: str | None = None, level: str | None = None,
         mapping: dict[str, str] | None = None, layer: str | None = None) -> Source:
    """Read a boundary file into WGS84 features; UnreadableFile when it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise UnreadableFile(zh_en(f"{path}：文件不存在", f"{path}: no such file"))
    if level is not None and level not in LEVELS:
        raise UnreadableFile(zh_en(f"level {level!r} 应为 {'、'.join(LEVELS)} 之一",
                                   f"level {level!r}: must be one of {', '.join(LEVELS)}"))
    m = mapping or {f: f for f in FIELDS}
    suffix = path.suffix.lower()
    layers: list[str] = []
    layer_levels: list[str | None] = []
    if suffix in (".geojson", ".json"):
        props, geoms, declared = _read_geojson(path, crs)
    elif suffix in (".gpkg", ".zip", ".shp"):
        props, geoms, declared, layers, layer_levels = _read_ogr(path, layer, crs)
    else:
        kind = suffix or "(none)"
        raise UnreadableFile(zh_en(
            f"{path.name}：不支持的文件类型 {kind}，请用 .geojson、.gpkg 或压缩的 "
            "Shapefile（.zip）",
            f"{path.name}: unsupported file type {kind}; use .geojson, .gpkg or a zipped "
            "Shapefile (.zip)"))
    resolved = _resolved(declared)
    wgs = resolved.geometries([g[0] for g in geoms])
    features = []
    for i, (p, (_g, gtype, ring_problems), w) in enumerate(zip(props, geoms, wgs, strict=True)):
        code = _text(p.get(m["code"]))
        lvl = _text(p.get(m["level"])) or (layer_levels[i] if layer_levels else None) or level
        if lvl is None and code is not None and code.isdigit():
            lvl = CODE_LENGTH.get(len(code))
        lvl = lvl.lower() if lvl else None
        parent = _text(p.get(m["parent_code"]))
        if parent is None and code and lvl and lvl != "district" and len(code) > 3:
            parent = code[:-3]
        if w is not None and shapely.has_z(w):
            w = shapely.force_2d(w)
        features.append(Feature(
            index=i, level=lvl, code=code, name=_text(p.get(m["name"])) or code or "",
            parent_code=parent if lvl != "district" else None,
            kind=_text(p.get(m["kind"])) or "basic", geom=w, geom_type=gtype,
            ring_problems=ring_problems, properties=p,
        ))
    return Source(str(path), features, resolved.label, layers)
