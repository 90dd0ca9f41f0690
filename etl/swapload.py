"""First load into an empty ``building`` table over several connections, switched in atomically.

A district's first footprint layer is its biggest load (a million rows for a city). One
transaction runs on one server core; this path uses them all and still keeps every guarantee
of the table:

1. The caller's transaction holds ``building`` in SHARE ROW EXCLUSIVE mode (readers go on,
   no other writer) and has checked the table is empty.
2. A shadow table ``building_bulk_load`` is made ``LIKE building`` (same columns, defaults,
   the same id sequence, generated point column and CHECK constraints; no indexes yet).
3. ``STREAMS`` connections COPY one share of the rows each into it (every CHECK and the
   generated column run per row, as in ``building``), then build ``building``'s indexes on it
   (unique key, primary key, GiST...) in parallel.
4. The caller's transaction takes the lock up to ACCESS EXCLUSIVE, drops the foreign keys that
   point at ``building``, hands the id sequence to the shadow, drops the empty ``building``,
   renames the shadow and its indexes to the original names, attaches the primary and unique
   keys, and adds the foreign keys back. Its commit is the moment the rows appear; before it
   nothing changed, and a failure anywhere drops the shadow and leaves ``building`` as it was.

The shadow is a normal table between steps 2 and 4: nobody else writes it (bulk writers are
serialised by the lock of step 1), and one left behind by a killed load is dropped by the next.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import geopandas as gpd
import numpy as np
from psycopg2 import sql
from sqlalchemy import Engine

from gis.db.queries import q

log = logging.getLogger(__name__)
SQL = "etl.sql"
PKG = "etl.sql"
SHADOW = "building_bulk_load"
STREAMS = 2
SWAP_MIN_ROWS = 100_000  # below this one connection is as quick
_INDEXDEF = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (\S+) (.*)$", re.S)



def usable(cur: Any, rows: int) -> bool:
    """Whether this load can take the swap path (``cur``: the caller's locked transaction)."""
    if rows < SWAP_MIN_ROWS:
        return False
    cur.execute(q(SQL, "building_is_empty", PKG).text)
    if not cur.fetchone()[0]:
        return False
    cur.execute(q(SQL, "building_swap_blockers", PKG).text)
    views, triggers, acl_rls_inherit, publications, not_allowed = cur.fetchone()
    if views or triggers or acl_rls_inherit or publications:
        log.info("building: parallel first load not used (the table has views, triggers, "
                 "public grants, row security, children or publications a swap would not "
                 "carry over)")
        return False
    if not_allowed:
        log.info("building: parallel first load not used (this database role does not own "
                 "building or cannot create tables in its schema)")
        return False
    return True


def _connect(engine: Engine) -> Any:
    raw = engine.raw_connection()
    cur = raw.cursor()
    cur.execute(q(SQL, "swap_stream_settings", PKG).text)
    raw.commit()
    return raw


def _run_all(engine: Engine, jobs: list[list[Any]]) -> None:
    """Run each job list (callables taking a cursor) on its own connection, all at once; each
    list commits at its end. The first error is raised after all have stopped."""

    def run(job: list[Any]) -> None:
        raw = _connect(engine)
        try:
            cur = raw.cursor()
            for step in job:
                step(cur)
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()

    with ThreadPoolExecutor(len(jobs)) as ex:
        futures = [ex.submit(run, j) for j in jobs]
        errors = [f.exception() for f in futures]
    for e in errors:
        if e is not None:
            raise e


def _drop_shadow(engine: Engine) -> None:
    raw = engine.raw_connection()
    try:
        raw.cursor().execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SHADOW)))
        raw.commit()
    finally:
        raw.close()


def _index_jobs(defs: list[tuple]) -> tuple[list[list[str]], dict[str, tuple]]:
    """building's index definitions re-aimed at the shadow (temporary names), spread over the
    streams by rough cost (a GiST build costs about three btree builds)."""
    jobs: list[list[str]] = [[] for _ in range(STREAMS)]
    load = [0] * STREAMS
    names: dict[str, tuple] = {}
    ordered = sorted(defs, key=lambda d: (d[4] == "btree", d[0]))
    for k, (name, ddl, conname, contype, am) in enumerate(ordered):
        m = _INDEXDEF.match(ddl)
        if m is None:
            raise RuntimeError(f"unexpected index definition: {ddl}")
        tmp = f"{SHADOW}_i{k}"
        schema = m.group(3).rpartition(".")[0]
        target = f"{schema}.{SHADOW}" if schema else SHADOW
        stmt = f"CREATE {m.group(1) or ''}INDEX {tmp} ON {target} {m.group(4)}"
        j = load.index(min(load))
        jobs[j].append(stmt)
        load[j] += 1 if am == "btree" else 3
        names[tmp] = (name, conname, contype)
    return jobs, names


def load(engine: Engine, cur: Any, prepared: gpd.GeoDataFrame, source: str, rows: np.ndarray,
         copy: Any, bar: Any) -> None:
    """Load ``rows`` through the shadow table and swap it in, inside the caller's transaction
    (``cur``), which commits or rolls back the switch. ``copy(cur, table, rows)`` does one
    COPY stream."""
    cur.execute(q(SQL, "building_indexes", PKG).text)
    jobs, names = _index_jobs(cur.fetchall())
    cur.execute(q(SQL, "building_referencing_keys", PKG).text)
    fkeys = cur.fetchall()
    cur.execute(q(SQL, "building_owned_sequences", PKG).text)
    sequences = cur.fetchall()
    cur.execute(q(SQL, "building_grants", PKG).text)
    grants = [g for (g,) in cur.fetchall()]
    shadow = sql.Identifier(SHADOW)
    try:
        _drop_shadow(engine)  # a killed load's leftover (bulk writers are serialised)
        _run_all(engine, [[lambda c: c.execute(sql.SQL(
            "CREATE TABLE {} (LIKE building INCLUDING ALL EXCLUDING INDEXES)").format(shadow))]])
        shares = np.array_split(rows, STREAMS)
        _run_all(engine, [[lambda c, s=s: copy(c, SHADOW, s)] for s in shares])
        bar.stage(f"{len(rows)} rows copied in {STREAMS} streams")
        _run_all(engine, [[lambda c, s=s: c.execute(s) for s in job] for job in jobs])
        bar.stage(f"{len(names)} indexes built on {STREAMS} connections")

        for table, _name, _ddl in fkeys:
            cur.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cur.execute(q(SQL, "swap_lock_building", PKG).text)
        for table, name, _ddl in fkeys:
            cur.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.SQL(table), sql.Identifier(name)))
        for column, seq in sequences:
            cur.execute(sql.SQL("ALTER SEQUENCE {} OWNED BY {}.{}").format(
                sql.SQL(seq), shadow, sql.Identifier(column)))
        cur.execute(q(SQL, "swap_drop_building", PKG).text)
        cur.execute(sql.SQL("ALTER TABLE {} RENAME TO building").format(shadow))
        for tmp, (name, conname, contype) in names.items():
            if contype in ("p", "u"):
                kind = "PRIMARY KEY" if contype == "p" else "UNIQUE"
                cur.execute(sql.SQL("ALTER TABLE building ADD CONSTRAINT {} {} USING INDEX {}")
                            .format(sql.Identifier(conname), sql.SQL(kind), sql.Identifier(tmp)))
            else:
                cur.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                    sql.Identifier(tmp), sql.Identifier(name)))
        for table, name, ddl in fkeys:
            cur.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                sql.SQL(table), sql.Identifier(name)) + sql.SQL(ddl))
        for grant in grants:  # the platform's role keeps its rights on the new table
            cur.execute(grant)
        bar.stage("switched in")
    except BaseException:
        cur.connection.rollback()  # first: it may hold the shadow (renamed) or locks on it
        _drop_shadow(engine)
        raise
