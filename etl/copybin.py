"""PostgreSQL binary ``COPY`` rows built column-wise with Arrow (no Python loop over rows).

Each field of a binary COPY row is a big-endian int32 length (-1 for NULL) and the value's
binary form; a row starts with its int16 field count. Every field is made here as Arrow
binary arrays (the length headers and the values), and ``rows`` joins them element-wise in C:
the joined array's value buffer *is* the COPY data. Arrow and GEOS release the GIL, so a
background thread can make the next chunk while the server parses the current one.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
# A Polygon's WKB becomes a MultiPolygon EWKB (SRID 4326) behind this prefix; a MultiPolygon's
# 5-byte WKB header is swapped for the 9-byte EWKB one.
_MULTI_PREFIX = bytes.fromhex("0106000020E610000001000000")
_MULTI_HEAD = bytes.fromhex("0106000020E6100000")

Parts = list[pa.Array]


def _fixed(data: bytes, n: int, width: int) -> pa.Array:
    """``n`` values of ``width`` bytes each, from one buffer (zero copy)."""
    offsets = np.arange(0, width * n + 1, width, dtype=np.int32)
    return pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets),
                                                        pa.py_buffer(data)])


def _lengths(lens: np.ndarray) -> pa.Array:
    """The int32 length headers (-1: NULL)."""
    return _fixed(np.asarray(lens).astype(">i4").tobytes(), len(lens), 4)


def _packed(values: np.ndarray, null: np.ndarray, dtype: str) -> Parts:
    """A fixed-width numeric column (``dtype`` big-endian numpy type) with NULLs."""
    n, width = len(values), np.dtype(dtype).itemsize
    sizes = np.where(null, 0, width)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(sizes, out=offsets[1:])
    data = np.asarray(values)[~null].astype(dtype).tobytes()
    return [_lengths(np.where(null, -1, width)),
            pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets),
                                                         pa.py_buffer(data)])]


def arrow_text(values: Any) -> pa.Array:
    """Strings as an Arrow array (None / NaN → null)."""
    if isinstance(values, pd.Series):
        values = values.array if isinstance(values.dtype, pd.StringDtype) else \
            values.to_numpy(dtype=object)
    return pa.array(values, pa.string(), from_pandas=True)


def text(values: Any) -> Parts:
    """A text column (None / NaN → NULL)."""
    arr = values if isinstance(values, pa.Array) else arrow_text(values)
    lens = pc.binary_length(arr)
    if arr.null_count:
        return [_lengths(pc.fill_null(lens, -1).to_numpy()),
                pc.fill_null(arr.cast(pa.binary()), b"")]
    return [_lengths(lens.to_numpy()), arr.cast(pa.binary())]


def constant_text(value: str, n: int) -> Parts:
    """The same text in every row."""
    b = value.encode()
    return [_lengths(np.full(n, len(b))), _fixed(b * n, n, len(b))]


def int4(values: np.ndarray, null: np.ndarray) -> Parts:
    """An int column."""
    return _packed(np.where(null, 0, values), null, ">i4")


def float8(values: np.ndarray) -> Parts:
    """A double precision column (NaN → NULL)."""
    v = np.asarray(values, dtype=float)
    return _packed(v, np.isnan(v), ">f8")


def multipolygon_4326(geoms: np.ndarray) -> Parts:
    """Polygons / MultiPolygons as 2D MultiPolygon EWKB with SRID 4326 (``geometry_recv``
    input), so the server needs no ST_Multi / ST_SetSRID."""
    wkb = pa.array(shapely.to_wkb(geoms, output_dimension=2, byte_order=1, include_srid=False),
                   pa.binary())
    poly = pa.array(shapely.get_type_id(geoms) == 3)
    head = pc.if_else(poly, pa.scalar(_MULTI_PREFIX), pa.scalar(_MULTI_HEAD))
    body = pc.if_else(poly, wkb, pc.binary_slice(wkb, 5, 1 << 30))
    lens = pc.add(pc.binary_length(head), pc.binary_length(body))
    return [_lengths(lens.to_numpy()), head, body]


def _json_values(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes into JSON texts of a column's distinct values (pandas' JSON conversion of each)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    plain = json.loads(pd.Series(np.asarray(uniques, dtype=object)).to_json(
        orient="values", date_format="iso", force_ascii=False)) if len(uniques) else []
    texts = [json.dumps(v, ensure_ascii=False) for v in plain] + ["null"]
    return np.where(codes < 0, len(texts) - 1, codes), texts


def json_objects(frame: pd.DataFrame | None, n: int) -> pa.Array:
    """One JSON object per row of ``frame`` (``{}`` without columns), built per distinct value."""
    if frame is None or not len(frame.columns):
        return _fixed(b"{}" * n, n, 2)
    pieces: list[Any] = []
    for k, c in enumerate(frame.columns):
        codes, texts = _json_values(frame.iloc[:, k])
        key = ("{" if k == 0 else ", ") + json.dumps(str(c), ensure_ascii=False) + ": "
        pieces += [pa.scalar(key), pa.array(texts, pa.string()).take(pa.array(codes))]
    return pc.binary_join_element_wise(*pieces, pa.scalar("}"), "")


def jsonb(objects: pa.Array) -> Parts:
    """A jsonb column from JSON texts (binary jsonb is a version byte, 1, then the text)."""
    n = len(objects)
    lens = pc.binary_length(objects).to_numpy() + 1
    return [_lengths(lens), _fixed(b"\x01" * n, n, 1), objects.cast(pa.binary())]


def rows(columns: list[Parts]) -> bytes:
    """The binary COPY rows (without header and trailer) of these columns."""
    n = len(columns[0][0])
    count = _fixed(len(columns).to_bytes(2, "big") * n, n, 2)
    joined = pc.binary_join_element_wise(count, *(p for col in columns for p in col), b"")
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32, count=n + 1,
                            offset=joined.offset * 4)
    return joined.buffers()[2].slice(int(offsets[0]), int(offsets[n] - offsets[0])).to_pybytes()
