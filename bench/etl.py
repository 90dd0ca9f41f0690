"""Benchmark: building polygons through the ETL COPY path vs GeoDataFrame.to_postgis.

    python -m bench.etl [--rows 1000000]

Uses its own database ``wangge_bench_etl`` on DATABASE_URL's server (recreated each run).
The same generated GeoDataFrame (etl.citygen) goes through both paths, in one run:

* ours: ``etl.buildings.prepare`` (validation: geometry types, coordinates, CRS, ``is_valid``,
  ids, attributes) + ``load_frame`` (upsert by (source, source_id) into the real ``building``
  table: CHECK constraints incl. ST_IsValid and the coordinate range, the generated
  ST_PointOnSurface column, the UNIQUE and primary-key btrees and the GiST index on the
  geometry). The table starts empty, so this first load takes ``etl.swapload``'s path: two
  COPY streams into a shadow table, its indexes built on two connections, then switched in
  atomically;
* ``to_postgis``: a fresh plain table (geoalchemy2 creates it with one GiST index on the
  geometry), no validation, no constraints, no upsert.

Then the same file is reloaded unchanged through our path (nothing may be rewritten). ratio =
our rows/s / to_postgis rows/s. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sqlalchemy import create_engine, make_url, text

from bench.common import recreate_database
from etl import buildings as bld
from etl import citygen
from etl.common import Report
from gis.db import migrate
from gis.settings import Settings

DB = "wangge_bench_etl"
OURS = ("validate + upsert by (source, source_id) into building (CHECK ST_IsValid + range, "
        "generated ST_PointOnSurface column, UNIQUE + pkey btrees, GiST on geom)")
THEIRS = "to_postgis into a fresh table with 1 GiST index (no validation, no upsert)"


def bench_engine():
    """A fresh, migrated ``wangge_bench_etl`` database on DATABASE_URL's server."""
    url = make_url(recreate_database(Settings().owner_url, DB))
    eng = create_engine(url.set(drivername="postgresql+psycopg2"))
    migrate.upgrade(eng)
    return eng


def etl_load(eng, gdf) -> tuple[Report, float, float]:
    """prepare + load_frame; (report, seconds in all, seconds of validation)."""
    t = time.perf_counter()
    report = Report(kind="buildings", file="bench", source="bench")
    frame = bld.prepare(gdf, report, id_field="source_id", name="bench")
    t_prep = time.perf_counter() - t
    bld.load_frame(eng, frame, "bench", report, commit=True, progress=True)
    return report, time.perf_counter() - t, t_prep


def schema_floor(eng, gdf) -> float:
    """Seconds to COPY the prepared rows, in one stream, into a bare temporary copy of building's
    columns and build a GiST index on the geometry (rolled back): a load without the per-row
    work (CHECKs, generated point) and keys the schema asks for."""
    report = Report(kind="buildings", file="bench", source="bench")
    frame = bld.prepare(gdf, report, id_field="source_id", name="bench")
    raw = eng.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cur.execute("CREATE TEMP TABLE floor_building (source text, source_id text, name text, "
                    "address text, floors int, height_m double precision, "
                    "geom geometry(MultiPolygon, 4326), properties jsonb)")
        t = time.perf_counter()
        bld._copy(cur, "floor_building", frame, "bench", np.arange(len(frame)), None)
        cur.execute("CREATE INDEX ON floor_building USING gist (geom)")
        return time.perf_counter() - t
    finally:
        raw.rollback()
        raw.close()


def main() -> None:
    """Run both loads on the same data and print the rates and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="building polygons")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    eng = bench_engine()
    t = time.perf_counter()
    layout, bounds = citygen.layout_for(max(1, args.rows // 100))
    areas = citygen.city_areas(args.seed, layout, bounds)
    gdf = citygen.city_buildings(areas, 10, args.seed, limit=args.rows).drop(columns=["unit"])
    n = len(gdf)
    print(f"generated {n:,} buildings in {time.perf_counter() - t:.1f}s", flush=True)
    print(f"ours:       {OURS}", flush=True)
    print(f"to_postgis: {THEIRS}", flush=True)

    report, etl_s, t_prep = etl_load(eng, gdf)
    assert report.inserted == n, report.to_dict()
    print(f"ours, first load: {etl_s:.1f}s ({n / etl_s:,.0f} rows/s; validation "
          f"{t_prep:.1f}s, COPY + indexes {etl_s - t_prep:.1f}s)", flush=True)

    with eng.connect() as conn:
        last_xid = conn.execute(text("SELECT max(xmin::text::bigint) FROM building")).scalar_one()
    report2, reload_s, _ = etl_load(eng, gdf)
    assert report2.unchanged == n and report2.inserted == report2.updated == 0, \
        report2.to_dict()
    with eng.connect() as conn:
        rewritten = conn.execute(text(
            "SELECT count(*) FROM building WHERE xmin::text::bigint > :x"), {"x": last_xid}
        ).scalar_one()
    print(f"ours, reload of the same rows (all unchanged, {rewritten} rewritten): "
          f"{reload_s:.1f}s ({n / reload_s:,.0f} rows/s)", flush=True)

    floor_s = schema_floor(eng, gdf)
    print(f"for scale: one COPY stream of the same rows into a temporary table shaped like "
          f"building without its CHECKs, generated column and keys, + its GiST build: "
          f"{floor_s:.1f}s", flush=True)

    t = time.perf_counter()
    gdf.to_postgis("bench_to_postgis", eng, if_exists="replace", index=False)
    gp_s = time.perf_counter() - t
    with eng.connect() as conn:
        n_gp = conn.execute(text("SELECT count(*) FROM bench_to_postgis")).scalar_one()
        n_etl = conn.execute(text("SELECT count(*) FROM building")).scalar_one()
    print(f"to_postgis: {gp_s:.1f}s ({n / gp_s:,.0f} rows/s)", flush=True)
    ratio = (n / etl_s) / (n / gp_s)
    print(f"ratio = ours / to_postgis = {ratio:.2f}x (target >= 3x)")
    eng.dispose()
    print(json.dumps({
        "bench": "etl", "rows": n, "etl_s": round(etl_s, 2),
        "etl_rows_per_s": round(n / etl_s), "etl_validation_s": round(t_prep, 2),
        "etl_load_s": round(etl_s - t_prep, 2),
        "etl_reload_unchanged_s": round(reload_s, 2), "reload_rows_rewritten": rewritten,
        "schema_floor_s": round(floor_s, 2),
        "to_postgis_s": round(gp_s, 2),
        "to_postgis_rows_per_s": round(n / gp_s),
        "ratio": round(ratio, 2), "target_ratio": 3.0, "rows_in_building": n_etl,
        "rows_in_to_postgis": n_gp, "ours": OURS, "to_postgis": THEIRS,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
