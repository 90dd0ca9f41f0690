"""Benchmark: building polygons through the ETL COPY path vs GeoDataFrame.to_postgis.

    python -m bench.etl [--rows 1000000]

Uses its own database ``wangge_bench_etl`` on DATABASE_URL's server (recreated each run).
The same generated GeoDataFrame (etl.citygen) goes through both paths; the ETL path includes
validation, reprojection checks, COPY into a staging table and the upsert into ``building``
(with its constraints, generated point column and GiST indexes). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

from sqlalchemy import create_engine, make_url, text

from etl import buildings as bld
from etl import citygen
from etl.common import Report
from gis import migrate
from gis.settings import Settings

DB = "wangge_bench_etl"


def bench_engine():
    """A fresh, migrated ``wangge_bench_etl`` database on DATABASE_URL's server."""
    url = make_url(Settings().database_url).set(drivername="postgresql+psycopg2")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB}"'))
    admin.dispose()
    eng = create_engine(url.set(database=DB))
    migrate.upgrade(eng)
    return eng


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
    print(f"generated {len(gdf):,} buildings in {time.perf_counter() - t:.1f}s", flush=True)

    t = time.perf_counter()
    report = Report(kind="buildings", file="bench", source="bench")
    frame = bld.prepare(gdf, report, id_field="source_id", name="bench")
    t_prep = time.perf_counter() - t
    bld.load_frame(eng, frame, "bench", report, commit=True, progress=True)
    etl_s = time.perf_counter() - t
    assert report.inserted == len(gdf), report.to_dict()
    print(f"etl COPY path: {etl_s:.1f}s ({len(gdf) / etl_s:,.0f} rows/s; validation "
          f"{t_prep:.1f}s)", flush=True)

    t = time.perf_counter()
    report2 = Report(kind="buildings", file="bench", source="bench")
    frame2 = bld.prepare(gdf, report2, id_field="source_id", name="bench")
    bld.load_frame(eng, frame2, "bench", report2, commit=True, progress=True)
    reload_s = time.perf_counter() - t
    assert report2.unchanged == len(gdf), report2.to_dict()
    print(f"etl reload (all unchanged): {reload_s:.1f}s", flush=True)

    t = time.perf_counter()
    gdf.to_postgis("bench_to_postgis", eng, if_exists="replace", index=False)
    gp_s = time.perf_counter() - t
    with eng.connect() as conn:
        n_gp = conn.execute(text("SELECT count(*) FROM bench_to_postgis")).scalar_one()
        n_etl = conn.execute(text("SELECT count(*) FROM building")).scalar_one()
    print(f"geopandas to_postgis: {gp_s:.1f}s ({len(gdf) / gp_s:,.0f} rows/s)", flush=True)
    ratio = gp_s / etl_s
    print(f"ratio: ETL COPY path is {ratio:.2f}x to_postgis (target >= 3x)")
    eng.dispose()
    print(json.dumps({
        "bench": "etl", "rows": len(gdf), "etl_s": round(etl_s, 2),
        "etl_rows_per_s": round(len(gdf) / etl_s), "etl_validation_s": round(t_prep, 2),
        "etl_reload_unchanged_s": round(reload_s, 2), "to_postgis_s": round(gp_s, 2),
        "to_postgis_rows_per_s": round(len(gdf) / gp_s), "ratio": round(ratio, 2),
        "target_ratio": 3.0, "rows_in_building": n_etl, "rows_in_to_postgis": n_gp,
    }))


if __name__ == "__main__":
    main()
