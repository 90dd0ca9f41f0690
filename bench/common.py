"""Shared benchmark helpers: timing, a dedicated database, a uvicorn subprocess, HTTP load.

Nothing here reads settings at import time. Every loop is bounded (by a request count or a
deadline plus a per-request timeout) so a benchmark always stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, make_url, text

REPO = Path(__file__).resolve().parent.parent


# -- output ---------------------------------------------------------------------------------
def say(msg: str) -> None:
    """One human-readable progress line (flushed at once)."""
    print(msg, flush=True)


def rnd(v: float | None, digits: int = 3) -> float | None:
    """Round for the JSON line (None and NaN stay None)."""
    if v is None or not np.isfinite(v):
        return None
    return round(float(v), digits)


# -- timing ---------------------------------------------------------------------------------
@dataclass
class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.s`` (seconds, perf_counter)."""

    s: float = 0.0
    _t0: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.s = time.perf_counter() - self._t0


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float], Any]:
    """Run ``fn`` ``repeat`` times: (best seconds, all seconds, last result)."""
    times, result = [], None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, result


def per_call_us(fn: Callable[[float, float], Any], xs: Sequence[float],
                ys: Sequence[float]) -> tuple[float, float]:
    """(median, mean) microseconds per ``fn(x, y)`` call, each call timed on its own."""
    pc = time.perf_counter_ns
    ts = []
    append = ts.append
    for x, y in zip(xs, ys, strict=True):
        t0 = pc()
        fn(x, y)
        append(pc() - t0)
    return statistics.median(ts) / 1000.0, statistics.fmean(ts) / 1000.0


def pct(values: Sequence[float] | np.ndarray, q: float) -> float:
    """q-th percentile (0..100) of ``values`` (NaN when empty)."""
    a = np.asarray(values, dtype=np.float64)
    return float(np.percentile(a, q)) if len(a) else float("nan")


# -- database -------------------------------------------------------------------------------
def database_url(base_url: str, name: str) -> str:
    """``base_url`` with its database name replaced by ``name``."""
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def _admin(base_url: str) -> Engine:
    """An autocommit engine on the ``postgres`` database of ``base_url``'s server."""
    return create_engine(make_url(base_url).set(drivername="postgresql+psycopg2",
                                                database="postgres"),
                         isolation_level="AUTOCOMMIT")


def drop_database(base_url: str, name: str, wait_s: float = 15.0) -> None:
    """Drop database ``name`` if it exists. Sessions of other roles (a server just stopped,
    its workers still closing) are waited for up to ``wait_s``: FORCE may end only the
    owner role's own sessions."""
    admin = _admin(base_url)
    try:
        with admin.connect() as conn:
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :n "
                    "AND usename <> current_user"), {"n": name}).scalar_one():
                time.sleep(0.2)
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def recreate_database(base_url: str, name: str) -> str:
    """Drop and create database ``name`` on ``base_url``'s server; returns its URL."""
    drop_database(base_url, name)
    admin = _admin(base_url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return database_url(base_url, name)


def prepared_engine(url: str) -> Engine:
    """Engine on ``url`` after the migrations and the catalogue load."""
    from gis.db import migrate
    from gis.db.engine import make_engine
    from gis.intake import catalogue
    from gis.settings import Settings

    engine = make_engine(Settings(database_url=url))
    migrate.upgrade(engine)
    with engine.begin() as conn:
        catalogue.load(conn)
    return engine


def checkpoint(engine: Engine) -> float | None:
    """CHECKPOINT before a measured phase, so that the one the seeding made necessary does not
    land in it: seconds taken, or None when the role may not (no ``pg_checkpoint``)."""
    from sqlalchemy.exc import ProgrammingError

    t = time.perf_counter()
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("CHECKPOINT"))
    except ProgrammingError:
        say("note: CHECKPOINT not permitted (grant pg_checkpoint to this role); a checkpoint "
            "due to the seeding may fall in the measured phase")
        return None
    return time.perf_counter() - t


def db_exists(base_url: str, name: str) -> bool:
    """True when the database ``name`` exists on ``base_url``'s server."""
    admin = create_engine(make_url(base_url).set(drivername="postgresql+psycopg2",
                                                 database="postgres"))
    try:
        with admin.connect() as conn:
            return conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": name}).first() is not None
    finally:
        admin.dispose()


def count_rows(engine: Engine, table: str) -> int:
    """``SELECT count(*)`` of one table."""
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


# -- a server in a subprocess ---------------------------------------------------------------
def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a local process (NaN when /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its live children (uvicorn's workers), from /proc."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        v = process_cpu_s(p)
        total += 0.0 if v != v else v  # a child gone meanwhile counts nothing
        todo.extend(kids.get(p, ()))
    return total


@dataclass
class Server:
    """A running server: its base URL and process id."""

    base: str
    pid: int

    def cpu_s(self) -> float:
        """CPU seconds the server process (and its worker processes) used so far."""
        return tree_cpu_s(self.pid)


@contextlib.contextmanager
def uvicorn_server(factory: str, url: str, ready_path: str = "/openapi.json",
                   start_timeout_s: float = 600.0,
                   extra_env: dict[str, str] | None = None, workers: int = 1
                   ) -> Iterator[Server]:
    """Serve ``module:factory`` with uvicorn on 127.0.0.1 in a subprocess; yields a Server.

    The subprocess gets ``DATABASE_URL`` (and ``WANGGE_DATABASE_URL``) = ``url``; ``workers``
    > 1 runs that many processes as ``wangge serve --workers`` does (``wangge.workers``). It is
    terminated (then killed) on exit.
    """
    import httpx

    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, WANGGE_DATABASE_URL=url, **(extra_env or {}))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning", "--no-access-log"]
    if workers > 1:  # as `wangge serve --workers N` runs them: a SO_REUSEPORT socket each
        cmd = [sys.executable, "-c", "import sys; from wangge.workers import serve; "
               f"sys.exit(serve({factory!r}, '127.0.0.1', {port}, {workers}, 'warning'))"]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, env=env, cwd=str(REPO), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{factory} exited with {proc.returncode}:\n"
                                   + log.read().decode(errors="replace")[-4000:])
            try:
                if httpx.get(base + ready_path, timeout=2.0).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{factory} not ready after {start_timeout_s:.0f} s")
            time.sleep(0.2)
        yield Server(base, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


# -- HTTP load ------------------------------------------------------------------------------
@dataclass
class LoadResult:
    """Outcome of one load phase; latencies in milliseconds."""

    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    late_ms_max: float = 0.0  # open loop: how late the scheduler fired its worst request

    @property
    def rps(self) -> float:
        """Successful requests per second over the phase."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else float("nan")

    def p(self, q: float) -> float:
        """Latency percentile in ms."""
        return pct(self.latencies_ms, q)

    def error(self, key: str) -> None:
        """Count one failure."""
        self.errors[key] = self.errors.get(key, 0) + 1


def _run(coro: Any) -> Any:
    """Run a coroutine on uvloop when available (a lighter client), else asyncio."""
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


@dataclass
class RawResponse:
    """What ``RawClient.post`` answers (the few attributes ``_post`` and callers read)."""

    status_code: int
    content: bytes
    headers: dict[str, str]


class RawClient:
    """A minimal HTTP/1.1 keep-alive client for load generation: a fraction of httpx's CPU per
    request, so that on a small machine the generator leaves the cores to the server.

    Only what the benchmarks send: ``post`` with a body, answers with a Content-Length. At most
    ``max_conn`` connections; a connection whose exchange failed or was cancelled is closed.
    """

    def __init__(self, base: str, max_conn: int, timeout_s: float,
                 headers: dict[str, str] | None = None) -> None:
        from urllib.parse import urlsplit

        u = urlsplit(base)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.timeout_s = timeout_s
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.fixed += f"host: {self.host}:{self.port}\r\n"
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._sem = asyncio.Semaphore(max_conn)

    async def __aenter__(self) -> RawClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for _r, w in self._idle:
            w.close()
        self._idle.clear()

    async def post(self, path: str, content: bytes,
                   headers: dict[str, str] | None = None) -> RawResponse:
        """POST ``content`` to ``path``; the answer."""
        async with self._sem:
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else await asyncio.open_connection(
                self.host, self.port)
            try:
                async with asyncio.timeout(self.timeout_s):
                    try:
                        resp, keep = await self._exchange(conn, path, content, headers)
                    except (asyncio.IncompleteReadError, ConnectionError):
                        if not reused:
                            raise
                        # the server closed this idle keep-alive connection (uvicorn does
                        # after 5 s) before reading the request: once more on a new one
                        conn[1].close()
                        conn = await asyncio.open_connection(self.host, self.port)
                        resp, keep = await self._exchange(conn, path, content, headers)
            except BaseException:
                conn[1].close()
                raise
            if keep:
                self._idle.append(conn)
            else:
                conn[1].close()
            return resp

    async def _exchange(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                        path: str, content: bytes,
                        headers: dict[str, str] | None) -> tuple[RawResponse, bool]:
        reader, writer = conn
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(f"POST {path} HTTP/1.1\r\n{self.fixed}{extra}content-length: "
                     f"{len(content)}\r\n\r\n".encode("latin-1") + content)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        hdrs = {}
        for line in head[1:]:
            if line:
                k, _, v = line.partition(":")
                hdrs[k.strip().lower()] = v.strip()
        body = await reader.readexactly(int(hdrs.get("content-length", "0")))
        return RawResponse(status, body, hdrs), hdrs.get("connection") != "close"


def _client(base: str, max_conn: int, timeout_s: float, raw: bool = False):
    if raw:
        return RawClient(base, max_conn, timeout_s, {"content-type": "application/json"})
    import httpx

    return httpx.AsyncClient(
        base_url=base,
        limits=httpx.Limits(max_connections=max_conn, max_keepalive_connections=max_conn),
        timeout=httpx.Timeout(timeout_s, pool=timeout_s),
        headers={"content-type": "application/json"},
    )


OnOk = Callable[[Any], None]  # called with each expected response (httpx.Response)


async def _post(client: Any, path: str, body: bytes, headers: dict[str, str] | None,
                res: LoadResult, expect: int, on_ok: OnOk | None = None) -> bool:
    try:
        r = await client.post(path, content=body, headers=headers)
    except Exception as e:  # timeouts, refused connections: counted, never raised
        res.error(type(e).__name__)
        return False
    if r.status_code != expect:
        res.error(f"HTTP {r.status_code}")
        return False
    res.ok += 1
    if on_ok is not None:
        on_ok(r)
    return True


def _pick(seq: Sequence[Any] | None, i: int) -> Any:
    return seq[i % len(seq)] if seq else None


def open_loop(base: str, path: str, bodies: Sequence[bytes], rate: float, duration_s: float,
              expect: int = 201, timeout_s: float = 10.0, max_conn: int = 128,
              headers: Sequence[dict[str, str]] | None = None, offset: int = 0,
              deadline_s: float = 30.0, on_ok: OnOk | None = None,
              raw: bool = False, until: Callable[[], bool] | None = None) -> LoadResult:
    """Open-loop load: request i is due at t0 + i/rate whatever happened before.

    Latency runs from the *scheduled* time to the response, so a stalled server (or a late
    client) shows up in the percentiles instead of silently lowering the offered rate
    (no coordinated omission). At most ``max_conn`` requests are in flight; the others wait in
    a FIFO (their wait counts in their latency). A request not answered ``deadline_s`` after its
    scheduled time is abandoned and counted as a ``Deadline`` error (latency recorded as the
    deadline), so an overloaded server cannot make the run last for ever. ``raw``: the
    light ``RawClient`` instead of httpx (also for ``closed_loop``). ``until``: checked before
    each send; once it returns True no more requests are sent (``duration_s`` is then the
    longest the phase may last).

    (Queuing in httpx's own pool instead is quadratic when thousands of requests wait, which
    starves the client: hence the semaphore.)
    """
    n = max(1, int(round(rate * duration_s)))
    res = LoadResult(sent=n)
    lat = [float("nan")] * n

    async def one(client: Any, sem: asyncio.Semaphore, i: int, due: float) -> None:
        try:
            async with asyncio.timeout(max(0.001, due + deadline_s - time.perf_counter())):
                async with sem:
                    await _post(client, path, _pick(bodies, i + offset),
                                _pick(headers, i + offset), res, expect, on_ok)
        except TimeoutError:
            res.error("Deadline")
        lat[i] = (time.perf_counter() - due) * 1000.0

    async def main() -> None:
        sem = asyncio.Semaphore(max_conn)
        async with _client(base, max_conn, timeout_s, raw) as client:
            tasks = []
            t0 = time.perf_counter() + 0.05
            for i in range(n):
                if until is not None and until():
                    break
                due = t0 + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    res.late_ms_max = max(res.late_ms_max, -delay * 1000.0)
                tasks.append(asyncio.create_task(one(client, sem, i, due)))
            await asyncio.gather(*tasks)
            res.elapsed_s = time.perf_counter() - t0
            res.sent = len(tasks)

    _run(main())
    res.latencies_ms = lat[:res.sent]
    return res


def closed_loop(base: str, path: str, bodies: Sequence[bytes], concurrency: int,
                duration_s: float, expect: int = 201, timeout_s: float = 10.0,
                offset: int = 0, headers: Sequence[dict[str, str]] | None = None,
                on_ok: OnOk | None = None, raw: bool = False) -> LoadResult:
    """Closed-loop load: ``concurrency`` clients each send, wait, send again until the deadline.

    Gives the maximum sustainable throughput (``rps``); requests still in flight at the
    deadline are awaited and counted.
    """
    res = LoadResult()
    counter = [offset]

    async def worker(client: Any, deadline: float) -> None:
        while time.perf_counter() < deadline:
            i = counter[0]
            counter[0] += 1
            res.sent += 1
            t = time.perf_counter()
            await _post(client, path, _pick(bodies, i), _pick(headers, i), res, expect, on_ok)
            res.latencies_ms.append((time.perf_counter() - t) * 1000.0)

    async def main() -> None:
        async with _client(base, concurrency, timeout_s, raw) as client:
            t0 = time.perf_counter()
            await asyncio.gather(*(worker(client, t0 + duration_s) for _ in range(concurrency)))
            res.elapsed_s = time.perf_counter() - t0

    _run(main())
    return res
