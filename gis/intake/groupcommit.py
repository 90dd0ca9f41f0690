"""Group commit: concurrent intake requests of one process share one statement and one commit.

A request is validated and located on its own (``events.prepare_request``: bad input is an
InvalidInput that never reaches a group), then handed to ``GroupCommit.store``, which answers
only after the transaction holding it has committed. While a group is being stored, the
requests that arrive wait together and go as the next group (self-clocking: no fixed wait, so a
lone request is stored at once, and under load each commit carries many requests). Each request
keeps its own Idempotency-Key answer and audit row; a key taken by another request, a changed
generation or a revoked token affects that request alone. When a group fails for a reason of
one of its requests (not a lost database), each of its requests is stored again alone, so one
bad request cannot fail the others."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import anyio.to_thread
import psycopg2
from sqlalchemy import Engine

from gis import calendar
from gis.errors import Unavailable
from gis.intake import events
from gis.intake.events import IntakeResult, Report, StoreOutcome, StoreRequest
from gis.territory.locator import Locator

Waiting = tuple[StoreRequest, "asyncio.Future[StoreOutcome]"]


class GroupCommit:
    """Stores the requests handed to it in groups, at most ``max_inflight`` groups at a time
    (each on its own pooled connection), at most ``max_reports`` events per group.

    One group at a time by default: the requests arriving while it commits make the next,
    larger group (fewer statements, each costing the database about 0.5 ms beyond its rows),
    and several API processes still store side by side.
    """

    def __init__(self, engine: Engine, max_inflight: int = 1, max_reports: int = 2000) -> None:
        self.engine = engine
        self.max_inflight = max_inflight
        self.max_reports = max_reports
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: deque[Waiting] = deque()
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.groups = 0  # groups stored (for the benchmark's figures)
        self.requests = 0

    async def store(self, req: StoreRequest) -> StoreOutcome:
        """Store one request with whatever else is waiting; its outcome after the commit."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests start one per client)
            self._loop, self._waiting, self._inflight = loop, deque(), 0
        fut: asyncio.Future[StoreOutcome] = loop.create_future()
        self._waiting.append((req, fut))
        if self._inflight < self.max_inflight:
            self._inflight += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)  # a reference, so the task is not collected mid-way
            task.add_done_callback(self._tasks.discard)
        return await fut

    async def _drain(self) -> None:
        """Store groups while requests wait; then give up this slot."""
        try:
            await asyncio.sleep(0)  # let the requests of this turn of the loop join
            while self._waiting:
                group = self._take()
                try:
                    outcomes = await anyio.to_thread.run_sync(
                        _store_apart, self.engine, [req for req, _f in group])
                except BaseException as e:  # cancelled (shutdown): no request left hanging
                    for _req, fut in group:
                        if not fut.done():
                            fut.set_exception(Unavailable("the server is stopping; retry"))
                    raise e
                self.groups += 1
                self.requests += len(group)
                for (_req, fut), out in zip(group, outcomes, strict=True):
                    if fut.done():  # the request was cancelled (client gone)
                        continue
                    if isinstance(out, BaseException):
                        fut.set_exception(out)
                    else:
                        fut.set_result(out)
        finally:
            self._inflight -= 1

    def _take(self) -> list[Waiting]:
        """The next group: waiting requests of the first one's generation, distinct keys."""
        group: list[Waiting] = []
        keys: set[str] = set()
        left: deque[Waiting] = deque()
        n = 0
        gen = self._waiting[0][0].generation
        while self._waiting:
            req, fut = self._waiting.popleft()
            fits = (req.generation == gen and req.idempotency_key not in keys
                    and (not group or n + len(req.rows) <= self.max_reports))
            if not fits:
                left.append((req, fut))
                continue
            group.append((req, fut))
            n += len(req.rows)
            if req.idempotency_key is not None:
                keys.add(req.idempotency_key)
        self._waiting = left
        return group


def _store_apart(engine: Engine, group: list[StoreRequest]) -> list[StoreOutcome | Exception]:
    """Outcomes of one group; a lost database fails them all, another error is retried one
    request at a time, so that only the request it belongs to fails."""
    try:
        return list(events.store_group(engine, group))
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:  # down, or a timeout
        return [e] * len(group)
    except Exception as e:
        if len(group) == 1:
            return [e]
    out: list[StoreOutcome | Exception] = []
    for req in group:
        try:
            out.append(events.store_group(engine, [req])[0])
        except Exception as e:
            out.append(e)
    return out


async def ingest(batcher: GroupCommit, engine: Engine, locator: Locator, reports: list[Report],
                 idempotency_key: str | None = None, body_hash: str | None = None,
                 max_batch: int = 500, audit: dict[str, Any] | None = None,
                 cal: calendar.Calendar | None = None,
                 recheck_token: int | None = None) -> IntakeResult:
    """``events.ingest`` through the group commit: validated and located (in the event loop
    when that needs no database, else in a worker thread), stored with the other requests
    waiting, answered after the commit.

    ``recheck_token``: a token id taken from the API's short cache, checked again in the
    storing statement (revoked or expired: nothing stored, Unauthorized).
    """
    events.check_batch(reports, max_batch)
    for _attempt in range(3):
        if events.in_memory(engine, locator, reports):  # no round trip: no thread hop
            req = events.prepare_request(engine, locator, reports, idempotency_key, body_hash,
                                         audit, cal)
        else:
            req = await anyio.to_thread.run_sync(
                lambda: events.prepare_request(engine, locator, reports, idempotency_key,
                                               body_hash, audit, cal))
        req.recheck_token = recheck_token
        out = await batcher.store(req)
        if out.outcome == "stored":
            return events.answer(req, out.ids)
        res = await anyio.to_thread.run_sync(events.settle, engine, locator, req, out)
        if res is not None:
            return res
    raise Unavailable(events.TERRITORY_CHANGING, code="territory_changing")
