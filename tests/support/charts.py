"""Vega-Lite charts of a Streamlit AppTest run, read back: title, spec and data rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class Chart:
    """One ``st.vega_lite_chart`` of a run: its spec and the rows Streamlit sent as data."""

    title: str
    spec: dict[str, Any]
    rows: list[dict[str, Any]]


def vega_charts(at: Any) -> list[Chart]:
    """Every Vega-Lite chart of the run, in page order (inline data moved to Arrow)."""
    out = []
    for el in at.get("vega_lite_chart"):
        spec = json.loads(el.proto.spec)
        raw = el.proto.data.data
        rows = pa.ipc.open_stream(raw).read_all().to_pylist() if raw else []
        out.append(Chart(str(spec.get("title", "")), spec, rows))
    return out
