"""Helpers for the ETL tests: tiny fixture files, including an OSM PBF written by hand."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import geopandas as gpd
import shapely
from sqlalchemy import text

# ---- a minimal protobuf / OSM PBF writer (enough for nodes, ways and relations) ----------


def _varint(n: int) -> bytes:
    """Protobuf base-128 varint."""
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _zz(n: int) -> int:
    """Zigzag encoding of a signed integer."""
    return (n << 1) ^ (n >> 63)


def _key(field: int, wire: int) -> bytes:
    """Field key."""
    return _varint(field << 3 | wire)


def _ld(field: int, payload: bytes) -> bytes:
    """Length-delimited field."""
    return _key(field, 2) + _varint(len(payload)) + payload


def _vi(field: int, n: int) -> bytes:
    """Varint field."""
    return _key(field, 0) + _varint(n)


def _packed(field: int, values: list[int]) -> bytes:
    """Packed repeated varints (left out when empty)."""
    if not values:
        return b""
    return _ld(field, b"".join(_varint(v) for v in values))


def _delta(values: list[int]) -> list[int]:
    """Delta + zigzag coding."""
    out, prev = [], 0
    for v in values:
        out.append(_zz(v - prev))
        prev = v
    return out


def _blob(kind: str, data: bytes) -> bytes:
    """BlobHeader + zlib Blob framing."""
    blob = _vi(2, len(data)) + _ld(3, zlib.compress(data))
    header = _ld(1, kind.encode()) + _vi(3, len(blob))
    return struct.pack(">I", len(header)) + header + blob


def write_pbf(path: Path, nodes: dict[int, tuple[float, float]],
              ways: list[tuple[int, list[int], dict[str, str]]],
              relations: list[tuple[int, list[tuple[str, int, str]], dict[str, str]]],
              sort_nodes: bool = True) -> Path:
    """Write nodes {id: (lon, lat)}, ways (id, refs, tags) and relations (id, [(type, ref,
    role)], tags) as an .osm.pbf file (nodes in the dict's order unless ``sort_nodes``)."""
    strings = [""]

    def sid(s: str) -> int:
        if s not in strings:
            strings.append(s)
        return strings.index(s)

    ids = sorted(nodes) if sort_nodes else list(nodes)
    dense = (_packed(1, _delta(ids))
             + _packed(8, _delta([round(nodes[i][1] * 1e7) for i in ids]))
             + _packed(9, _delta([round(nodes[i][0] * 1e7) for i in ids]))
             + _packed(10, [0] * len(ids)))
    groups = [_ld(2, dense)]
    wmsgs = b""
    for wid, refs, tags in ways:
        ks = [sid(k) for k in tags]
        vs = [sid(v) for v in tags.values()]
        wmsgs += _ld(3, _vi(1, wid) + _packed(2, ks) + _packed(3, vs) + _packed(8, _delta(refs)))
    groups.append(wmsgs)
    rmsgs = b""
    types = {"node": 0, "way": 1, "relation": 2}
    for rid, members, tags in relations:
        ks = [sid(k) for k in tags]
        vs = [sid(v) for v in tags.values()]
        roles = [sid(m[2]) for m in members]
        rmsgs += _ld(4, _vi(1, rid) + _packed(2, ks) + _packed(3, vs) + _packed(8, roles)
                     + _packed(9, _delta([m[1] for m in members]))
                     + _packed(10, [types[m[0]] for m in members]))
    groups.append(rmsgs)
    table = _ld(1, b"".join(_ld(1, s.encode()) for s in strings))
    block = table + b"".join(_ld(2, g) for g in groups) + _vi(17, 100)
    header = _ld(4, b"OsmSchema-V0.6") + _ld(4, b"DenseNodes") + _ld(16, b"wangge-tests")
    path.write_bytes(_blob("OSMHeader", header) + _blob("OSMData", block))
    return path


def osm_sample(path: Path, lon: float = 120.60, lat: float = 31.305) -> Path:
    """Two building ways, one non-building way, one multipolygon building relation."""
    d = 0.0002
    nodes: dict[int, tuple[float, float]] = {}
    ways = []

    def square(first_node: int, x: float, y: float, s: float) -> list[int]:
        pts = [(x, y), (x + s, y), (x + s, y + s), (x, y + s)]
        for k, p in enumerate(pts):
            nodes[first_node + k] = p
        return [first_node + k for k in range(4)] + [first_node]

    ways.append((100, square(1, lon, lat, d), {"building": "yes", "name": "甲楼",
                                              "building:levels": "3", "addr:street": "人民路",
                                              "addr:housenumber": "1"}))
    ways.append((101, square(11, lon + 0.001, lat, d), {"building": "residential"}))
    ways.append((102, square(21, lon + 0.002, lat, d), {"landuse": "grass"}))
    ways.append((103, square(31, lon, lat + 0.001, 3 * d), {}))
    ways.append((104, square(41, lon + d, lat + 0.001 + d, d), {}))
    rels = [(200, [("way", 103, "outer"), ("way", 104, "inner")],
             {"type": "multipolygon", "building": "yes", "name": "乙楼"})]
    return write_pbf(path, nodes, ways, rels)


LON, LAT = 120.600, 31.305  # inside the generated demo district


def boxes(n: int = 3, lon: float = LON, lat: float = LAT) -> gpd.GeoDataFrame:
    """n small buildings in a row, with ids, floors and names."""
    geoms = [shapely.box(lon + i * 0.0005, lat, lon + i * 0.0005 + 0.0002, lat + 0.0002)
             for i in range(n)]
    return gpd.GeoDataFrame({"bid": [f"B{i}" for i in range(n)], "floors": [2] * n,
                             "name": [f"楼{i}" for i in range(n)]}, geometry=geoms,
                            crs="EPSG:4326")


def count(engine, source: str | None = None) -> int:
    """Buildings stored (of one source)."""
    with engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM building WHERE :s IS NULL OR source = :s"),
                         {"s": source}).scalar_one()
