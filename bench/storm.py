"""Alert storm benchmark (issue 17, target 1): ``python -m bench.storm [--quick]``.

In one run, on a generated district (``--units``, default 10,000 units) in a dedicated
database (``--db``, default ``wangge_bench_storm``, re-created at start, migrated, dropped at
the end), three servers, each uvicorn in its own process, the load generator in this one:

* ``group``: the API as shipped (group commit on) in ``--workers`` processes (2), as
  ``wangge serve --workers`` runs them (a SO_REUSEPORT socket each), and ``group1``: the same
  in one process (group commit alone, beside ``today``);
* ``today``: the same API with ``WANGGE_GROUP_COMMIT=false`` (each request stored alone, its
  token read from the database per request: the path before group commit);
* ``naive``: ``bench.apps:naive_app`` (one ``ST_Contains`` and one ``INSERT`` per request; it
  takes single reports only, so it is sent the same reports one by one).

Reports are mixed: every ``--batch-every``-th request is a batch of ``--batch-size`` (a camera
gateway's burst), the others single reports; every request carries its own Idempotency-Key and
one of ``--tokens`` district-centre tokens (devices). Per server: the p99 at an open-loop rate
of ``--rate`` reports/s (latency from the scheduled send time), the throughput with 16, 32 and
64 closed-loop clients (how the cost grows), and for ``group`` the storm itself: ``--clients``
clients for ``--sustain`` seconds. Each server starts on emptied tables after a
``CHECKPOINT``. After each server: every answered event is in the table,
none twice (uids, ids, Idempotency-Keys). CPU seconds of the server processes, the database
backends and this generator are reported per phase, with the whole machine's busy share.

Human-readable lines first; the LAST line is one JSON object with the figures and ``targets``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Engine, text

from bench.common import (
    LoadResult,
    checkpoint,
    closed_loop,
    drop_database,
    open_loop,
    prepared_engine,
    process_cpu_s,
    recreate_database,
    rnd,
    say,
    uvicorn_server,
)
from bench.locate import api_tokens, load_territory

URL = "/api/v1/events"
TARGET_REPORTS_S = 2000.0
TARGET_CLIENTS = 64
TARGET_SUSTAIN_S = 60.0
TARGET_P99_MS = 50.0
TARGET_P99_RATE = 1000.0
GROWTH_CLIENTS = (16, 32, 64)
APPS = {  # name: (factory, environment, uvicorn workers; None: --workers)
    "today": ("bench.apps:real_app", {"WANGGE_GROUP_COMMIT": "false"}, 1),
    "naive": ("bench.apps:naive_app", {}, 1),
    "group1": ("bench.apps:real_app", {"WANGGE_GROUP_COMMIT": "true"}, 1),
    "group": ("bench.apps:real_app", {"WANGGE_GROUP_COMMIT": "true"}, None),
}


# -- the reports ----------------------------------------------------------------------------
@dataclass
class Mix:
    """Every ``every``-th request a batch of ``size`` reports, the others single reports."""

    every: int
    size: int

    def reports(self, i: int) -> int:
        """Reports in request ``i``."""
        return self.size if self.every > 0 and i % self.every == self.every - 1 else 1

    @property
    def mean(self) -> float:
        """Mean reports per request."""
        return (self.every - 1 + self.size) / self.every if self.every > 0 else 1.0


def bodies(engine: Engine, bounds: tuple[float, float, float, float], n: int, mix: Mix | None,
           seed: int) -> list[bytes]:
    """``n`` request bodies at random points (``mix`` None: single reports only)."""
    with engine.connect() as conn:
        items = conn.execute(text("SELECT code FROM event_item WHERE active ORDER BY code")
                             ).scalars().all()
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    out, k = [], 0
    for i in range(n):
        size = mix.reports(i) if mix else 1
        reps = []
        for _ in range(size):
            reps.append({"item": items[k % len(items)], "source": "camera",
                         "lon": round(float(rng.uniform(x0, x1)), 6),
                         "lat": round(float(rng.uniform(y0, y1)), 6),
                         "description": "storm", "reporter": f"cam-{k % 500}"})
            k += 1
        out.append(json.dumps({"events": reps} if size > 1 else reps[0]).encode())
    return out


def keyed(tokens: list[dict[str, str]], n: int, prefix: str) -> list[dict[str, str]]:
    """``n`` request headers: a token each (cycled) and a unique Idempotency-Key."""
    return [{**tokens[i % len(tokens)], "idempotency-key": f"{prefix}-{i}"} for i in range(n)]


# -- CPU ------------------------------------------------------------------------------------
def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


@dataclass
class Cpu:
    """CPU seconds used over one phase by the server, the database backends, this process."""

    server_s: float = 0.0
    db_s: float = 0.0
    generator_s: float = 0.0
    machine_busy: float = 0.0  # share of all cores busy (every process, other work too)


class CpuMeter:
    """Reads the CPU counters at the start and the end of a phase."""

    def __init__(self, server_cpu: Callable[[], float], engine: Engine, db: str) -> None:
        self.server_cpu, self.engine, self.db = server_cpu, engine, db

    def _backends(self) -> dict[int, float]:
        with self.engine.connect() as conn:
            pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d "
                                     "AND pid <> pg_backend_pid()"), {"d": self.db}).scalars()
            return {p: process_cpu_s(p) for p in pids}

    def start(self) -> None:
        self._t = (self.server_cpu(), self._backends(), time.process_time(), machine_busy())

    def stop(self) -> Cpu:
        server0, db0, gen0, (busy0, total0) = self._t
        db1 = self._backends()
        busy1, total1 = machine_busy()
        db_s = sum(v - db0.get(p, 0.0) for p, v in db1.items() if v == v)
        return Cpu(self.server_cpu() - server0, db_s, time.process_time() - gen0,
                   (busy1 - busy0) / max(1, total1 - total0))


# -- one server -----------------------------------------------------------------------------
@dataclass
class Answers:
    """Event ids of every 201 answer, and the requests answered."""

    ids: list[int] = field(default_factory=list)
    requests: int = 0
    replayed: int = 0

    def take(self, r: Any) -> None:
        doc = json.loads(r.content)
        self.requests += 1
        self.replayed += r.headers.get("idempotent-replayed") == "true"
        if "events" in doc:
            self.ids.extend(e["id"] for e in doc["events"])
        else:
            self.ids.append(doc["id"])


def phase_figures(name: str, res: LoadResult, reports: int, cpu: Cpu) -> dict[str, Any]:
    """One phase's figures (latencies of requests, throughput in reports)."""
    el = max(res.elapsed_s, 1e-9)
    out = {"phase": name, "requests": res.sent, "ok": res.ok, "errors": dict(res.errors),
           "elapsed_s": rnd(el, 2), "reports_ok": reports, "reports_per_s": rnd(reports / el, 1),
           "requests_per_s": rnd(res.ok / el, 1), "p50_ms": rnd(res.p(50), 2),
           "p99_ms": rnd(res.p(99), 2), "max_ms": rnd(float(np.nanmax(res.latencies_ms)), 1)
           if res.latencies_ms else None,
           "server_cpu_s": rnd(cpu.server_s, 2), "db_cpu_s": rnd(cpu.db_s, 2),
           "generator_cpu_s": rnd(cpu.generator_s, 2),
           "server_cpu_ms_per_report": rnd(1000 * cpu.server_s / max(1, reports), 3),
           "db_cpu_ms_per_report": rnd(1000 * cpu.db_s / max(1, reports), 3),
           "machine_busy": rnd(cpu.machine_busy, 3)}
    say(f"  {name:>16}: {out['reports_per_s']:>7} reports/s ({out['requests_per_s']} req/s), "
        f"p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms, ok {res.ok}/{res.sent}, errors "
        f"{res.errors or 'none'}; CPU s: server {out['server_cpu_s']}, db {out['db_cpu_s']}, "
        f"generator {out['generator_cpu_s']}; machine busy {out['machine_busy']:.0%}")
    return out


@dataclass
class Load:
    """What one server is sent: bodies, headers, reports per body, and the phases' sizes."""

    bodies: list[bytes]
    headers: list[dict[str, str]]
    sizes: list[int]
    args: argparse.Namespace


def run_app(name: str, engine: Engine, url: str, db: str, load: Load,
            sustain: bool) -> dict[str, Any]:
    """Serve one app; warm-up, open loop, growth, (the storm); then check the table."""
    a = load.args
    reset(engine)
    factory, env, workers = APPS[name]
    workers = workers or a.workers
    load_avg = round(os.getloadavg()[0], 2)
    ans = Answers()
    used = [0]
    phases: list[dict[str, Any]] = []
    say(f"[{name}] {factory} {env or ''} workers={workers}; load average {load_avg}")
    with uvicorn_server(factory, url, extra_env=env, workers=workers) as server:
        meter = CpuMeter(server.cpu_s, engine, db)

        def run(label: str, go: Callable[[int], LoadResult]) -> LoadResult:
            before = len(ans.ids)
            meter.start()
            res = go(used[0])
            cpu = meter.stop()
            used[0] += res.sent
            phases.append(phase_figures(label, res, len(ans.ids) - before, cpu))
            return res

        mean = sum(load.sizes[:1000]) / len(load.sizes[:1000])
        run("warm-up", lambda off: closed_loop(server.base, URL, load.bodies, 16, a.warmup,
                                               offset=off, headers=load.headers,
                                               on_ok=ans.take, raw=True))
        run(f"open {a.rate:g}/s", lambda off: open_loop(
            server.base, URL, load.bodies, a.rate / mean, a.open_s, headers=load.headers,
            offset=off, on_ok=ans.take, deadline_s=10.0, raw=True))
        for c in GROWTH_CLIENTS:
            run(f"closed {c} clients", lambda off, c=c: closed_loop(
                server.base, URL, load.bodies, c, a.growth_s, offset=off,
                headers=load.headers, on_ok=ans.take, raw=True))
        if sustain:
            run(f"storm {a.clients}x{a.sustain:g}s", lambda off: closed_loop(
                server.base, URL, load.bodies, a.clients, a.sustain, offset=off,
                headers=load.headers, on_ok=ans.take, raw=True))
    check = verify(engine, ans, keyed=name != "naive")
    say(f"[{name}] check: {check}")
    return {"workers": workers, "loadavg": load_avg, "phases": phases, "check": check}


def reset(engine: Engine) -> None:
    """Empty what intake writes, so every server starts from the same state; then a
    checkpoint, so that the writes of the server before do not land in this one's phases."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE event, idempotency_key, audit_log RESTART IDENTITY CASCADE"))
    with engine.connect() as conn:
        conn.execute(text("COMMIT"))
        conn.execute(text("VACUUM ANALYZE event"))
    cp = checkpoint(engine)
    say(f"checkpoint before the server: {cp if cp is None else rnd(cp, 1)} s")


def verify(engine: Engine, ans: Answers, keyed: bool) -> dict[str, Any]:
    """Every answered event stored, none twice; keys each stored once with its own events."""
    with engine.connect() as conn:
        conn.execute(text("SET statement_timeout = 0"))  # hundreds of thousands of ids
        row = conn.execute(text(
            "WITH a AS (SELECT DISTINCT unnest(CAST(:ids AS bigint[])) AS id) "
            "SELECT (SELECT count(*) FROM event) AS n, "
            "(SELECT count(DISTINCT uid) FROM event) AS uids, "
            "(SELECT count(*) FROM event JOIN a USING (id)) AS answered"),
            {"ids": ans.ids}).one()
        keys = conn.execute(text(
            "SELECT count(*) AS n, count(DISTINCT key) AS distinct_keys, "
            "coalesce(sum(jsonb_array_length(response)), 0) AS events FROM idempotency_key")
        ).one()
    out = {"answered_201": ans.requests, "answered_events": len(ans.ids),
           "distinct_answered_ids": len(set(ans.ids)), "events_in_table": row.n,
           "distinct_uids": row.uids, "answered_in_table": row.answered,
           "replayed": ans.replayed, "idempotency_keys": keys.n,
           "events_under_keys": int(keys.events)}
    ok = (row.answered == len(ans.ids) == len(set(ans.ids)) and row.uids == row.n
          and ans.replayed == 0)
    if keyed:
        # a key per request: one row per request that stored, holding exactly its events
        ok = ok and keys.n == keys.distinct_keys and int(keys.events) == row.n
    out["every_201_committed_none_doubled"] = bool(ok)
    out["committed_unanswered"] = row.n - len(ans.ids)  # a client gave up, the server stored
    return out


# -- main -----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.storm", description=__doc__.split("\n")[0])
    p.add_argument("--db", default="wangge_bench_storm")
    p.add_argument("--units", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--rate", type=float, default=TARGET_P99_RATE, help="open loop, reports/s")
    p.add_argument("--open-s", type=float, default=None, help="open loop seconds (20)")
    p.add_argument("--growth-s", type=float, default=None, help="each growth step (10)")
    p.add_argument("--clients", type=int, default=TARGET_CLIENTS)
    p.add_argument("--sustain", type=float, default=None, help="storm seconds (60)")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--batch-every", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--tokens", type=int, default=64, help="API tokens (devices)")
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers of the group app")
    p.add_argument("--apps", default="today,naive,group1,group")
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--quick", action="store_true", help="smoke run: short phases")
    a = p.parse_args(argv)
    a.open_s = a.open_s or (5.0 if a.quick else 20.0)
    a.growth_s = a.growth_s or (4.0 if a.quick else 10.0)
    a.sustain = a.sustain or (10.0 if a.quick else TARGET_SUSTAIN_S)
    return a


def targets(r: dict[str, Any], a: argparse.Namespace) -> dict[str, bool]:
    """Each target of issue 17 item 1: met or not."""
    g = r["apps"].get("group")
    if g is None:
        return {"storm_2000_reports_s_60s_64_clients": False,
                "p99_le_50ms_at_1000_reports_s": False}
    storm = g["phases"][-1]
    opened = g["phases"][1]
    clean = g["check"]["every_201_committed_none_doubled"]
    return {
        "storm_2000_reports_s_60s_64_clients": bool(
            clean and storm["reports_per_s"] >= TARGET_REPORTS_S and a.sustain >= TARGET_SUSTAIN_S
            and a.clients >= TARGET_CLIENTS and not storm["errors"] and a.batch_every >= 2),
        "p99_le_50ms_at_1000_reports_s": bool(
            clean and a.rate >= TARGET_P99_RATE and opened["p99_ms"] is not None
            and opened["p99_ms"] <= TARGET_P99_MS and opened["ok"] == opened["requests"]),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    a = parse_args(argv)
    from gis.settings import Settings

    base_url = Settings().owner_url
    url = recreate_database(base_url, a.db)
    say(f"database {a.db} re-created; machine: {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}")
    engine = prepared_engine(url)
    r: dict[str, Any] = {"quick": a.quick, "cpus": os.cpu_count(),
                         "loadavg_start": [round(v, 2) for v in os.getloadavg()],
                         "mix": {"batch_every": a.batch_every, "batch_size": a.batch_size},
                         "rate_reports_s": a.rate, "clients": a.clients, "sustain_s": a.sustain,
                         "apps": {}}
    try:
        terr = load_territory(engine, a.units, a.seed)
        say(f"territory: {terr['units']} units in {terr['grids']} grids")
        mix = Mix(a.batch_every, a.batch_size)
        n = 200_000
        tokens = api_tokens(engine, a.tokens) or [{}]
        mixed = bodies(engine, terr["bounds"], n, mix, a.seed)
        single = bodies(engine, terr["bounds"], n, None, a.seed)
        single_share = (a.batch_every - 1) / (a.batch_every - 1 + a.batch_size)
        say(f"mix: every {a.batch_every}th request a batch of {a.batch_size} ({mix.mean:.2f} "
            f"reports per request; {single_share:.0%} of reports sent alone); naive: single "
            f"reports only; {len(tokens)} tokens, an Idempotency-Key per request")
        for name in a.apps.split(","):
            m = None if name == "naive" else mix
            load = Load(single if m is None else mixed, keyed(tokens, n, name),
                        [m.reports(i) if m else 1 for i in range(n)], a)
            r["apps"][name] = run_app(name, engine, url, a.db, load, sustain=name == "group")
        r["growth"] = {name: {p["phase"]: p["reports_per_s"] for p in app["phases"]
                              if p["phase"].startswith("closed")}
                       for name, app in r["apps"].items()}
        r["targets"] = targets(r, a)
        say("growth (reports/s at 16/32/64 clients): " + "; ".join(
            f"{k}: {', '.join(str(v) for v in g.values())}" for k, g in r["growth"].items()))
        say("targets: " + ", ".join(f"{k}={'MET' if v else 'MISSED'}"
                                    for k, v in r["targets"].items()))
    finally:
        engine.dispose()
        if not a.keep_db:
            drop_database(base_url, a.db)
    return r


if __name__ == "__main__":
    result = main(sys.argv[1:])
    print(json.dumps(result, ensure_ascii=False), flush=True)
