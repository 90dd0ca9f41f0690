"""A draft edited in QGIS (OGC API – Features Part 4) imported like a file: the draft is
exported to GeoJSON and goes through the one import pipeline (validation, preview,
``--commit``); once committed the draft is closed."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import Engine

from boundaries import export
from boundaries.core import ImportResult, run_import
from gis.errors import NotFound
from gis.interop import drafts


def import_draft(engine: Engine, *, commit: bool = False, actor: str | None = None,
                 max_m: float = 300.0) -> ImportResult:
    """Validate and preview the open draft against the active generation; ``commit``
    activates it (when acceptable) and closes the draft."""
    with engine.connect() as conn:
        gen = drafts.open_draft(conn)
        if gen is None:
            raise NotFound("没有正在编辑的草稿 (no open draft)", code="no_draft")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"draft-{gen}.geojson"
            export.write(conn, path, gen)
            conn.rollback()
            result = run_import(engine, path, commit=commit, actor=actor, max_m=max_m,
                                description=f"QGIS draft {gen}", source_name=f"draft {gen}")
    if result.report.get("committed"):
        with engine.begin() as conn:
            drafts.discard(conn, gen)
    return result
