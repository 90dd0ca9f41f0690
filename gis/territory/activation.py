"""The one activation path: activate a generation (open events follow), roll back.

What an event's columns mean (the assignment semantics):

* ``street_code`` / ``community_code`` / ``grid_code`` / ``unit_code`` / ``worker_id`` /
  ``location_status`` are the event's CURRENT assignment.  Codes are the stable identity
  of an area across generations, so they are valid in the active generation.
* ``generation_id`` / ``grid_id`` / ``unit_id`` (and ``distance_m``) are the boundary rows
  the event was last located against: not necessarily rows of the active generation.
* An activation re-locates every open event against the new generation (one set-based
  statement) but writes (``event_assignment`` row + UPDATE + ``reassigned`` history row) ONLY
  the events whose street / community / grid / unit code, worker or location status change.
  The others keep their rows untouched: their codes are the same in the new generation.
* Reports go on being stored while it does so (against the generation still active, which
  the activation has not touched yet).  Only then does it switch generations: the switch
  waits for the reports being stored and holds back new ones until the commit, and the
  events reported meanwhile (a higher id than any event seen before) are re-located the same
  way.  Reports held back then find their generation retired and are located again in the
  new one.  So every report lands in the generation active when it committed, and intake
  waits only for the switch and those few events.
* A rollback restores exactly the events the activation moved (from ``event_assignment``)
  and re-locates the events last located against the rolled-back generation (those reported
  while it was active), again writing only those that move.
* Closed (closed / rejected / duplicate) events are never touched: they keep the grid they
  had; the first history row of an event records where it was reported.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, TextClause, text
from sqlalchemy.exc import DBAPIError
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.db import tally
from gis.db.queries import named, q
from gis.errors import Conflict, NotFound
from gis.territory import people
from gis.territory.generations import active_generation, create_generation

SQL = "activation.sql"
PKG = "gis.territory.sql"
log = logging.getLogger(__name__)


class ActivationResult(TypedDict):
    """An activation (``activate``): its id, the generations, events re-located and moved
    (``late``: of those, reported while the others were re-located), seconds spent
    re-locating before the switch and holding the generation row (``switch_s``)."""

    activation: int
    generation: int
    previous: int | None
    relocated: int
    moved: int
    late: int
    relocate_s: float
    switch_s: float


class Relocated(NamedTuple):
    """One re-location pass: events located, events written, moving events left unwritten
    because they changed meanwhile."""

    relocated: int
    moved: int
    skipped: list[int]


class RollbackResult(TypedDict):
    """A rollback (``rollback``): the generations, events restored and re-located, workers."""

    activation: int
    generation: int
    rolled_back: int
    restored: int
    restored_moved: int
    relocated: int
    relocated_moved: int
    workers_rederived: int


class GenerationRow(TypedDict):
    """One generation with its size and open events (``generations``)."""

    id: int
    status: str
    created_at: datetime
    activated_at: datetime | None
    description: str | None
    source: str | None
    communities: int
    grids: int
    units: int
    open_events: int


def composed(*names: str) -> TextClause:
    """Several named blocks of activation.sql joined into one statement."""
    return text("\n".join(named(SQL, PKG)[n].text for n in names))


CATCH_UP_PASSES = 5  # passes over the events reported while the open events were re-located
CATCH_UP_FEW = 50  # events reported meanwhile few enough to re-locate under the switch
LOCATE_ALL = ("up_by_pieces", "locate_near", "all_areas", "area_workers", "locate_moves")
LOCATE_FEW = ("up_by_events", "locate_near", "few_areas", "area_workers", "locate_moves")


def locate_open_sql() -> str:
    """The statement locating open events in generation @gen (parameters: ``locate_params``),
    for a caller's tail (a preview)."""
    return "\n".join(named(SQL, PKG)[n].text for n in LOCATE_ALL)


class LocateParams(TypedDict):
    """The bound parameters of the locating statement (``locate_open_sql``)."""

    gen: int
    max_m: float
    from_gen: int | None
    upto: int | None
    after: int | None
    ids: list[int]


def locate_params(gen: int, max_m: float, from_gen: int | None = None, upto: int | None = None,
                  after: int | None = None, ids: list[int] | None = None) -> LocateParams:
    """The parameters of the locating statement: which open events, located in ``gen``."""
    return LocateParams(gen=gen, max_m=max_m, from_gen=from_gen, upto=upto, after=after,
                        ids=ids or [])


def has_territory(engine: Engine) -> bool:
    """True when a generation is active."""
    with engine.connect() as conn:
        return active_generation(conn) is not None


def generation_status(conn: Connection, gen: int) -> str | None:
    """Status of generation ``gen`` (None when there is no such generation)."""
    row = conn.execute(q(SQL, "generation_status", PKG), {"g": gen}).first()
    return None if row is None else row.status


def lock(conn: Connection) -> None:
    """Serialise imports, activations and rollbacks; lift the API's statement timeout."""
    conn.execute(q(SQL, "no_statement_timeout", PKG))
    conn.execute(q(SQL, "jit_off", PKG))
    conn.execute(q(SQL, "lock_imports", PKG))


def tune(conn: Connection) -> None:
    """Session settings for the set-based statements of an activation (transaction-local)."""
    conn.execute(q(SQL, "work_mem", PKG))
    conn.execute(q(SQL, "serial_plans", PKG))
    # wal_compression (full-page images are most of an activation's WAL) is a server setting
    # only a superuser may change: set in the cluster's configuration (README, server settings).


def _reassign(conn: Connection, gen: int, activation: int, actor: str | None, note: str,
              max_m: float, from_gen: int | None = None, upto: int | None = None,
              after: int | None = None, ids: list[int] | None = None) -> Relocated:
    """Re-locate open events against ``gen`` with one set-based statement.

    Semantics (see the module docstring): every open event (or, with ``from_gen``, only the
    open events last located against ``from_gen``; with ``upto`` only ids up to it; with
    ``after``, only ids above it or in ``ids``, located one by one) is located in ``gen``;
    only the events whose codes, worker or location status change are written
    (``event_assignment`` row, UPDATE, history row); the others are not touched at all.
    """
    tune(conn)
    names = LOCATE_FEW if after is not None else LOCATE_ALL
    row = conn.execute(composed(*names, "reassign_tail"), {
        **locate_params(gen, max_m, from_gen, upto, after, ids), "activation": activation,
        "actor": actor, "note": note}).one()
    return Relocated(int(row.relocated), int(row.moved), list(row.skipped))


def _fence(conn: Connection) -> int:
    """The highest event id committed now: every later report gets a higher one.

    Holds back intake (a row lock on the active generation, in a savepoint rolled back at
    once) only while the reports being stored finish and the id is read.
    """
    sp = conn.begin_nested()
    try:
        conn.execute(q(SQL, "quiesce_intake", PKG))
        return int(conn.execute(q(SQL, "last_event_id", PKG)).scalar_one())
    finally:
        sp.rollback()


def activate(conn: Connection, gen: int, *, actor: str | None = None, max_m: float = 300.0,
             summary: dict[str, Any] | None = None) -> ActivationResult:
    """Make ``gen`` active and move the open events to it (in the caller's transaction, which
    the caller should commit at once: from the switch on, new reports wait for it).

    The open events are re-located while intake goes on; then the switch (waits for the
    reports being stored, holds back new ones) and the events reported meanwhile.
    """
    row = conn.execute(q(SQL, "generation_status", PKG), {"g": gen}).first()
    if row is None:
        raise NotFound(f"no generation {gen}", code="generation_not_found")
    old = conn.execute(q(SQL, "active_generation", PKG)).scalar()
    if old == gen:
        raise Conflict(f"generation {gen} is already active", code="already_active")
    t0 = time.perf_counter()
    act = conn.execute(q(SQL, "activation_insert", PKG), {
        "g": gen, "prev": old, "kind": "activate", "actor": actor,
        "summary": json.dumps(summary or {}, default=str)}).scalar_one()
    note = f"boundaries: generation {old} -> {gen}"
    fence, first = _relocate(conn, gen, act, actor, note, max_m)
    t1 = time.perf_counter()
    # the switch: from here until the commit, reports wait
    if conn.execute(q(SQL, "retire_active", PKG)).scalar() != old:
        raise Conflict(f"the active generation changed while generation {gen} was being "
                       "activated; run it again", code="generation_changed")
    conn.execute(q(SQL, "make_active", PKG), {"g": gen})
    late = _reassign(conn, gen, act, actor, note, max_m, after=fence, ids=first.skipped)
    relocated = first.relocated + late.relocated - len(first.skipped)
    moved = first.moved + late.moved
    conn.execute(q(SQL, "activation_counts", PKG),
                 {"id": act, "reassigned": relocated, "moved": moved})
    return {"activation": act, "generation": gen, "previous": old, "relocated": relocated,
            "moved": moved, "late": late.relocated - len(first.skipped),
            "relocate_s": round(t1 - t0, 3), "switch_s": round(time.perf_counter() - t1, 3)}


def _relocate(conn: Connection, gen: int, act: int, actor: str | None, note: str,
              max_m: float) -> tuple[int, Relocated]:
    """Re-locate the open events while intake goes on: all of them, then (a few times) those
    reported meanwhile, until few are left for the switch.

    Returns the last fence (events above it are left for the switch) and the totals, whose
    ``skipped`` events (changed meanwhile) are also left for the switch.
    """
    fence = _fence(conn)
    done = _reassign(conn, gen, act, actor, note, max_m, upto=fence)
    for _ in range(CATCH_UP_PASSES):
        last = _fence(conn)
        if last - fence <= CATCH_UP_FEW:  # ids drawn since: at least the events reported
            break
        more = _reassign(conn, gen, act, actor, note, max_m, after=fence, upto=last,
                         ids=done.skipped)
        done = Relocated(done.relocated + more.relocated - len(done.skipped),
                         done.moved + more.moved, more.skipped)
        fence = last
    return fence, done


def rollback(conn: Connection, *, actor: str | None = None, max_m: float = 300.0
             ) -> RollbackResult:
    """Return to the generation the last activation replaced, restoring former assignments."""
    lock(conn)
    current = conn.execute(q(SQL, "active_generation", PKG)).scalar()
    if current is None:
        raise Conflict("no generation is active: nothing to roll back", code="nothing_active")
    last = conn.execute(q(SQL, "last_activation", PKG), {"g": current}).first()
    if last is None or last.previous_id is None:
        raise Conflict(f"generation {current} was not activated by a boundary import (or has "
                       "no predecessor): nothing to roll back", code="nothing_to_roll_back")
    prev = last.previous_id
    conn.execute(q(SQL, "retire_active", PKG))
    conn.execute(q(SQL, "make_active", PKG), {"g": prev})
    act = conn.execute(q(SQL, "activation_insert", PKG), {
        "g": prev, "prev": current, "kind": "rollback", "actor": actor,
        "summary": json.dumps({"rollback_of": last.id})}).scalar_one()
    tune(conn)
    restored = conn.execute(q(SQL, "restore_assignments", PKG), {
        "activation": last.id, "from_gen": current, "actor": actor,
        "note": f"boundaries: rollback of generation {current} to {prev}"}).one()
    # events last located against ``current`` now are those reported while it was active
    # (the moved ones are back in their former rows): re-locate them, writing the movers
    rest = _reassign(conn, prev, act, actor, f"boundaries: rollback {current} -> {prev}", max_m,
                     from_gen=current)._asdict()
    conn.execute(q(SQL, "mark_rolled_back", PKG), {"id": last.id})
    # the restored workers are those of before the activation: roles may have changed since
    grids = conn.execute(q(SQL, "activation_grids", PKG), {"activation": last.id}).scalars()
    workers = people.rederive_workers(conn, list(grids), actor=actor,
                                      note=f"boundaries: rollback {current} -> {prev}")
    conn.execute(q(SQL, "activation_counts", PKG), {
        "id": act, "reassigned": int(restored.restored) + rest["relocated"],
        "moved": int(restored.moved) + rest["moved"]})
    return {"activation": act, "generation": prev, "rolled_back": current,
            "restored": int(restored.restored), "restored_moved": int(restored.moved),
            "relocated": rest["relocated"], "relocated_moved": rest["moved"],
            "workers_rederived": workers}


def rollback_generation(engine: Engine, *, commit: bool, actor: str | None = None,
                        max_m: float = 300.0) -> RollbackResult:
    """:func:`rollback` in a transaction of its own: committed with ``commit``, else rolled
    back (a preview)."""
    with engine.begin() as conn:
        out = rollback(conn, actor=actor, max_m=max_m)
        if not commit:
            conn.rollback()
    if commit:
        fold_map_counts(engine)
    return out


def commit_generation(engine: Engine, fill: Callable[[Connection, int], None], *,
                      base: int | None, description: str, source: str,
                      actor: str | None = None, max_m: float = 300.0,
                      summary: dict[str, Any] | None = None) -> ActivationResult:
    """A new generation filled by ``fill(conn, gen)``, activated through :func:`activate`.

    The one way a territory drawn elsewhere (unit redraws, a drawn district) becomes active:
    the import lock is held, ``base`` must still be the active generation, and the open events
    are re-located with an activation record, so ``rollback`` undoes it exactly. The filled
    draft is committed and announced first (``activate_draft``).
    """
    with engine.begin() as conn:
        lock(conn)
        check_base(conn, base, "the territory was drawn")
        gen = create_generation(conn, description, source)
        fill(conn, gen)
        conn.execute(q(SQL, "analyze_territory", PKG))
        announce_draft(conn, gen)
    return activate_draft(engine, gen, base=base, during="the territory was drawn",
                          actor=actor, max_m=max_m, summary=summary)


def check_base(conn: Connection, base: int | None, during: str) -> None:
    """Conflict when the active generation is no longer ``base`` (changed ``during`` ...)."""
    now_active = conn.execute(q(SQL, "active_generation", PKG)).scalar()
    if now_active != base:
        raise Conflict(f"the active generation changed from {base} to {now_active} while "
                       f"{during}; run it again", code="generation_changed")


def activate_draft(engine: Engine, gen: int, *, base: int | None, during: str,
                   actor: str | None = None, max_m: float = 300.0,
                   summary: dict[str, Any] | None = None) -> ActivationResult:
    """Activate the committed (and announced) draft ``gen`` in a transaction of its own,
    committed at once; ``base`` must still be active. A failed activation discards the draft."""
    try:
        with engine.begin() as conn:
            lock(conn)
            check_base(conn, base, during)
            out = activate(conn, gen, actor=actor, max_m=max_m, summary=summary)
    except BaseException:
        discard_draft(engine, gen)
        raise
    fold_map_counts(engine)
    return out


def fold_map_counts(engine: Engine) -> None:
    """Fold the live map's count changes an activation or rollback appended, right after its
    commit and in a transaction of its own (else some report's statement folds them).

    The activation is committed by then: a failure here is logged, not raised (the changes
    stay appended, and the next fold takes them).
    """
    try:
        with engine.begin() as conn:
            tally.fold(conn)
    except DBAPIError:
        log.warning("the live map's counts were not folded after the activation; the next "
                    "fold takes them", exc_info=True)


def announce_draft(conn: Connection, gen: int) -> None:
    """At commit, tell the API processes to build their locator index of draft ``gen`` now,
    so that its activation finds it ready (``Locator.prepare``)."""
    conn.execute(q(SQL, "announce_draft", PKG), {"g": gen})


def discard_draft(engine: Engine, gen: int) -> None:
    """Mark draft ``gen`` discarded (its activation failed)."""
    with engine.begin() as conn:
        conn.execute(q(SQL, "discard_draft", PKG), {"g": gen})


def record_summary(conn: Connection, activation: int, summary: dict[str, Any]) -> None:
    """Store the preview totals with the activation."""
    conn.execute(q(SQL, "activation_summary", PKG),
                 {"id": activation, "summary": json.dumps(summary, default=str)})


def generations(conn: Connection) -> list[GenerationRow]:
    """Every generation with its size and open events."""
    return [GenerationRow(**r) for r in conn.execute(q(SQL, "generations", PKG)).mappings()]
