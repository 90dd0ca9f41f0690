"""Reads off a streaming replica: which server a read goes to, checked every few seconds.

A ``ReadRouter`` sends reads to the replica (a stock PostgreSQL hot standby) while it answers
and is at most ``max_lag_s`` behind the primary; otherwise to the primary, with a warning
(at most one a minute; no URL, user name or query in it), and back to the replica once a
later check finds it well again. Checks run at most every ``check_s`` seconds, in a
background thread, so a read never waits for one (only the very first read does).

The lag is measured on the standby: none when it has replayed everything the primary had
flushed just before, else the smaller of the age of the last transaction it replayed and the
time since it was last seen caught up (both are upper bounds of how stale its data is).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg2
from sqlalchemy import Engine, event

from gis.db.queries import q

log = logging.getLogger(__name__)
PKG = "gis.db.sql"
WARN_EVERY_S = 60.0  # at most one warning a minute per replica


@dataclass(frozen=True)
class ReplicaHealth:
    """What one check found: whether reads may go to the replica, and why (not)."""

    usable: bool
    lag_s: float | None  # None: the replica did not answer
    why: str  # "ok", "down (OperationalError)", "lagging 12.0 s > 10.0 s"


@dataclass(frozen=True)
class StandbyState:
    """The replica's answer to ``replica_state``."""

    in_recovery: bool
    caught_up: bool | None
    replayed_received: bool
    replay_age_s: float | None


def lag_s(state: StandbyState, caught_up_at: float | None, now: float) -> float:
    """How far (seconds, an upper bound) the replica's data may be behind the primary's."""
    if not state.in_recovery or state.caught_up:
        return 0.0
    if state.caught_up is None and state.replayed_received:
        return 0.0  # the primary's position is unknown: all it received is replayed
    bounds = [b for b in (state.replay_age_s,
                          None if caught_up_at is None else now - caught_up_at) if b is not None]
    return max(0.0, min(bounds)) if bounds else math.inf


def judge(state: StandbyState | None, lag: float, max_lag_s: float,
          error: str = "") -> ReplicaHealth:
    """The verdict on a check: down, lagging or usable."""
    if state is None:
        return ReplicaHealth(False, None, f"down ({error})")
    if lag > max_lag_s:
        return ReplicaHealth(False, lag, f"lagging {lag:.1f} s > {max_lag_s:.1f} s")
    return ReplicaHealth(True, lag, "ok")


class ReadRouter:
    """Chooses, for reads, between a replica and its primary (see the module's docstring)."""

    def __init__(self, primary: Engine, replica: Engine, max_lag_s: float, check_s: float,
                 name: str = "replica") -> None:
        self.primary, self.replica, self.name = primary, replica, name
        self.max_lag_s, self.check_s = max_lag_s, check_s
        self.health: ReplicaHealth | None = None
        self._lock = threading.RLock()  # one check at a time (re-entered by _on_error)
        self._checking = False
        self._checked_at = -math.inf
        self._caught_up_at: float | None = None
        self._warned_at = -math.inf
        self._quiet = 0  # warnings held back since the last one
        self.watch(replica)

    def use_replica(self) -> bool:
        """True when reads go to the replica now; starts a check in the background when one
        is due (the first check runs here)."""
        if self.health is None:
            self.check()
        elif time.monotonic() - self._checked_at >= self.check_s:
            self._check_in_background()
        health = self.health
        return health is not None and health.usable

    @property
    def checked(self) -> bool:
        """True once a check has run (``use_replica`` then never waits)."""
        return self.health is not None

    def check(self) -> ReplicaHealth:
        """Check the replica now (one round trip to each server) and route reads by it."""
        with self._lock:
            now = time.monotonic()
            state, error = self._standby_state()
            if state is not None and (state.caught_up or not state.in_recovery):
                self._caught_up_at = now
            health = judge(state, lag_s(state, self._caught_up_at, now) if state else 0.0,
                           self.max_lag_s, error)
            self._checked_at = now
            self._route(health)
            return health

    def watch(self, engine: Engine) -> None:
        """Take the replica as down as soon as ``engine`` (one of its pools) loses it."""
        if not event.contains(engine, "handle_error", self._on_error):
            event.listen(engine, "handle_error", self._on_error)

    def _on_error(self, ctx: Any) -> None:
        """A lost connection, or one refused, to the replica: reads go to the primary now."""
        refused = ctx.connection is None and isinstance(ctx.original_exception,
                                                        psycopg2.OperationalError)
        if ctx.is_disconnect or refused:
            with self._lock:
                name = type(ctx.original_exception).__name__
                self._route(ReplicaHealth(False, None, f"down ({name})"))

    def _check_in_background(self) -> None:
        """Start a check in a daemon thread unless one runs already."""
        with self._lock:
            if self._checking:
                return
            self._checking = True
        threading.Thread(target=self._background_check, daemon=True,
                         name="wangge-replica-check").start()

    def _background_check(self) -> None:
        """One check; never raises (the thread has no one to tell)."""
        try:
            self.check()
        except Exception:  # noqa: BLE001 - a failed check must not kill the caller's process
            log.exception("replica check failed")
        finally:
            self._checking = False

    def _primary_lsn(self) -> str | None:
        """The primary's flushed WAL position (None when it does not answer)."""
        try:
            with self.primary.connect() as conn:
                return conn.execute(q("replica.sql", "primary_lsn", PKG)).scalar_one()
        except Exception:  # noqa: BLE001 - the replica may still serve reads
            return None

    def _standby_state(self) -> tuple[StandbyState | None, str]:
        """The replica's state, or None and the error's class name when it does not answer."""
        lsn = self._primary_lsn()
        try:
            with self.replica.connect() as conn:
                row = conn.execute(q("replica.sql", "replica_state", PKG),
                                   {"primary_lsn": lsn}).mappings().one()
        except Exception as e:  # noqa: BLE001 - any failure means: read off the primary
            return None, type(getattr(e, "orig", None) or e).__name__
        return StandbyState(**row), ""

    def _route(self, health: ReplicaHealth) -> None:
        """Take ``health`` as the state, logging a change (warnings rate-limited)."""
        before, self.health = self.health, health
        if health.usable:
            if before is None or not before.usable:
                log.info("reads go to the %s (lag %.1f s)", self.name, health.lag_s or 0.0)
            return
        now = time.monotonic()
        if before is not None and not before.usable and now - self._warned_at < WARN_EVERY_S:
            return  # still on the primary, already said
        if now - self._warned_at < WARN_EVERY_S:
            self._quiet += 1
            return
        more = f" ({self._quiet} more changes since the last warning)" if self._quiet else ""
        log.warning("reads go to the primary: the %s is %s%s", self.name, health.why, more)
        self._warned_at, self._quiet = now, 0
