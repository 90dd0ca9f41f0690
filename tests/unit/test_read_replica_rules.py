"""The read replica's rules without a server: how lag is judged, and which routes may read off
the replica (never a write, never the read of a caller's own last write)."""

from __future__ import annotations

import math
import tempfile
from typing import Any

from fastapi.routing import APIRoute

from gis.api import deps
from gis.db.replica import StandbyState, judge, lag_s
from gis.settings import Settings

NOW = 1000.0


def standby(caught_up: bool | None, replayed_received: bool = False,
            replay_age_s: float | None = None, in_recovery: bool = True) -> StandbyState:
    """A standby's answer to the check."""
    return StandbyState(in_recovery, caught_up, replayed_received, replay_age_s)


def test_a_standby_that_replayed_all_the_primary_flushed_has_no_lag_however_old_its_last_commit():
    assert lag_s(standby(True, replay_age_s=3600.0), None, NOW) == 0.0


def test_a_standby_behind_lags_by_the_smaller_of_its_last_commit_age_and_the_time_since_caught_up():
    assert lag_s(standby(False, replay_age_s=3600.0), NOW - 2.5, NOW) == 2.5
    assert lag_s(standby(False, replay_age_s=1.5), NOW - 60.0, NOW) == 1.5


def test_a_standby_behind_that_never_replayed_a_commit_nor_was_seen_caught_up_lags_without_end():
    assert lag_s(standby(False), None, NOW) == math.inf


def test_without_the_primary_a_standby_that_replayed_all_it_received_has_no_lag():
    assert lag_s(standby(None, replayed_received=True, replay_age_s=99.0), None, NOW) == 0.0
    assert lag_s(standby(None, replay_age_s=99.0), None, NOW) == 99.0


def test_a_server_out_of_recovery_has_no_lag():
    assert lag_s(standby(None, in_recovery=False), None, NOW) == 0.0


def test_the_verdict_names_why_reads_leave_the_replica():
    assert judge(standby(True), 0.0, 10.0).usable is True
    late = judge(standby(False), 12.0, 10.0)
    assert (late.usable, late.why) == (False, "lagging 12.0 s > 10.0 s")
    down = judge(None, 0.0, 10.0, "OperationalError")
    assert (down.usable, down.lag_s, down.why) == (False, None, "down (OperationalError)")


def _uses(dependant, fn) -> bool:
    """True when ``fn`` is among a route's dependencies, at any depth."""
    return any(d.call is fn or _uses(d, fn) for d in dependant.dependencies)


def _flat(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """(path, route) of every APIRoute, inside included routers too (newer FastAPI keeps an
    included router as one entry of ``app.routes``)."""
    out: list[tuple[str, APIRoute]] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append((prefix + r.path, r))
        elif hasattr(r, "original_router"):
            out += _flat(r.original_router.routes, prefix + r.include_context.prefix)
    return out


def _routes() -> list[tuple[str, APIRoute]]:
    """Every route of the whole app (never started: no database needed)."""
    from wangge.app import create_app

    s = Settings(database_url="postgresql://nobody@127.0.0.1:1/none",
                 media_url=tempfile.mkdtemp(prefix="wangge-media-"))
    return _flat(create_app(s, listen=False).routes)


def test_no_write_route_gets_the_read_engine_and_reads_after_a_write_stay_on_the_primary():
    routes = _routes()
    readers = {(m, path) for path, r in routes for m in r.methods
               if _uses(r.dependant, deps.read_engine) or _uses(r.dependant, deps.heavy_engine)}
    assert readers and all(m in ("GET", "HEAD") for m, _ in readers), sorted(readers)
    assert ("GET", "/api/v1/events") in readers
    for path in ("/api/v1/events/{event_id}", "/api/v1/events/{event_id}/workflow",
                 "/api/v1/me/tasks", "/api/v1/workbench/queues"):
        assert ("GET", path) not in readers, path
