"""Point → unit → grid → community → street, and the worker who answers for it.

PostGIS is the source of truth; this module keeps an in-memory index of the *active*
generation's grids and units (see :mod:`gis.geo.cellindex`) and reloads it when the territory
revision changes (checked every ``locator_poll_s`` and on ``NOTIFY wangge_territory``).

Defined answers (documented in README "How a point is located"):

* A point covered by a unit: that unit, and the unit's grid.
* A point covered by a grid but no unit (a courtyard, a road, a special grid): the grid, unit null.
* A point on an edge shared by two grids, or a vertex shared by three: every such grid covers it
  (``ST_Covers`` semantics); the **lowest code wins** — deterministic, never "no grid".
  The grid is decided first; the unit is the lowest-code unit *of that grid* covering the point
  (null when none does), so a neighbouring grid's unit never pulls a point across a grid edge.
  (One index answers both: each grid's units in code order, then the part of the grid no unit
  covers, all ordered by grid code.) A unit sticking out of every grid still answers, with its
  own grid.
* A point in a hole of a grid that no other grid fills, or outside every grid: the nearest grid
  whose boundary is within ``outside_max_distance_m`` metres, status ``outside`` with
  ``distance_m``; beyond that, status ``unassigned`` (the command centre's queue).
* Special grids (industrial zone, port, sea and islands) are located like any other and carry
  ``grid_kind``.
* Input datum: WGS84 (default), GCJ-02, BD-09 or CGCS2000, converted to WGS84 on entry.
"""

from __future__ import annotations

import copy
import gc
import logging
import math
import threading
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Annotated, Any, NamedTuple

import numpy as np
import shapely
from pydantic import Field
from sqlalchemy import Connection, Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.db.queries import q
from gis.errors import InvalidInput, UnknownReference
from gis.geo.cellindex import CellIndex
from gis.geo.crs import resolve
from gis.geo.datum import Datum, UnknownDatumError, to_wgs84

log = logging.getLogger(__name__)

M_PER_DEG = 6371008.8 * math.pi / 180.0
SQL = "locator_snapshot.sql"
PKG = "gis.territory.sql"


@dataclass
class Location:
    """Where a point is, and who answers for it."""

    lon: float | None
    lat: float | None
    status: str
    grid: str | None = None
    unit: str | None = None
    community: str | None = None
    street: str | None = None
    district: str | None = None
    worker: str | None = None
    worker_name: str | None = None
    grid_name: str | None = None
    grid_kind: str | None = None
    distance_m: float | None = None
    method: str = "point"
    generation: int | None = None
    input: dict | None = None
    grid_id: int | None = field(default=None, repr=False)
    unit_id: int | None = field(default=None, repr=False)
    worker_id: int | None = field(default=None, repr=False)

    def to_dict(self) -> LocationJSON:
        """Public JSON form (internal row ids left out)."""
        d = {k: getattr(self, k) for k in _PUBLIC_FIELDS}
        if d["input"] is not None:
            d["input"] = dict(d["input"])
        return LocationJSON(**d)


class Place(TypedDict):
    """Where a point is and who answers for it (a ``Location`` without what was asked)."""

    lon: float | None
    lat: float | None
    status: Annotated[str, Field(
        description="inside, outside (nearest grid within reach) or unassigned")]
    grid: str | None
    unit: str | None
    community: str | None
    street: str | None
    district: str | None
    worker: str | None
    worker_name: str | None
    grid_name: str | None
    grid_kind: str | None
    distance_m: float | None
    method: Annotated[str, Field(description="point, building, address or none")]
    generation: int | None


class LocationJSON(Place):
    """A Location's public JSON form (``Location.to_dict``: its fields but the row ids)."""

    input: dict[str, Any] | None


class NearestGrid(NamedTuple):
    """The nearest grid to a point outside every grid: its index and distance (m)."""

    index: int
    distance_m: float


class Located(NamedTuple):
    """Bulk location (``Snapshot.locate_many``): grid and unit index, distance (m) per point."""

    grid: np.ndarray
    unit: np.ndarray
    distance_m: np.ndarray


_PUBLIC_FIELDS = tuple(f.name for f in fields(Location)
                       if f.name not in ("grid_id", "unit_id", "worker_id"))


class PlaceNotFound(UnknownReference):
    """No building has this id, or no single building has this address."""

    def __init__(self, method: str, field: str, message: str, reason: str) -> None:
        super().__init__(f"{field}: {message}", code=f"unknown_{method}",
                         details=[{"field": field, "reason": reason}])
        self.method = method

    @classmethod
    def building(cls, building_id: int | str, prefix: str = "") -> PlaceNotFound:
        """No building with this id or source id."""
        return cls("building", prefix + "building_id", f"no building {building_id!r}",
                   "no such building")

    @classmethod
    def address(cls, prefix: str = "") -> PlaceNotFound:
        """No single building with this address (none, or several)."""
        reason = "no single building has this address"
        return cls("address", prefix + "address", reason, reason)


@dataclass(frozen=True)
class Role:
    """A responsibility held for a period."""

    valid_from: datetime
    valid_to: datetime | None
    worker_id: int
    worker_code: str
    worker_name: str


class Snapshot:
    """Immutable in-memory index of one generation at one territory revision."""

    def __init__(self, generation: int | None, revision: int, grids: list, units: list,
                 roles: list, outside_max_m: float) -> None:
        self.generation = generation
        self.revision = revision
        self.outside_max_m = outside_max_m
        self.grid_ids = [r.id for r in grids]
        self.grid_codes = [r.code for r in grids]
        self.grid_names = [r.name for r in grids]
        self.grid_kinds = [r.kind for r in grids]
        self.grid_community = [r.community_code for r in grids]
        self.grid_street = [r.street_code for r in grids]
        self.grid_district = [r.district_code for r in grids]
        self.grid_geoms = shapely.from_wkb([bytes(r.wkb) for r in grids]) if grids else np.array([])
        grid_pos = {c: i for i, c in enumerate(self.grid_codes)}
        self.unit_ids = [r.id for r in units]
        self.unit_codes = [r.code for r in units]
        self.unit_grid = np.array([grid_pos[r.grid_code] for r in units], dtype=np.int64)
        self._unit_grid_l = self.unit_grid.tolist()
        self.unit_geoms = shapely.from_wkb([bytes(r.wkb) for r in units]) if units else np.array([])
        self.grids = CellIndex(self.grid_geoms)
        self._build_pieces()
        self.grid_tree = shapely.STRtree(self.grid_geoms)
        self.fingerprint: str | None = None  # of the generation's rows it was built from
        self._set_roles(roles)

    def _set_roles(self, roles: list) -> None:
        """Who may answer for each grid, in the precedence the database gives them
        (grid_responsibility, migration 0020)."""
        self.roles: dict[str, list[Role]] = {}
        for r in roles:
            self.roles.setdefault(r.area_code, []).append(
                Role(r.valid_from, r.valid_to, r.worker_id, r.worker_code, r.worker_name))

    def with_roles(self, roles: list, revision: int) -> Snapshot:
        """The same boundaries with ``roles``, at ``revision`` (a shallow copy)."""
        snap = copy.copy(self)
        snap.revision = revision
        snap._set_roles(roles)
        return snap

    def _build_pieces(self) -> None:
        """One index over every grid's units (code order) then its unit-less remainder.

        Pieces are ordered by (grid, unit code, remainder last), so the index's lowest-index
        rule gives the lowest-code grid covering a point and, inside it, its lowest-code unit.
        A grid whose units' areas add up to its own is taken as tiled by them (no remainder);
        the overlay is only computed for the others.
        """
        n_grids = len(self.grid_codes)
        by_grid: list[list[int]] = [[] for _ in range(n_grids)]
        for k, gi in enumerate(self._unit_grid_l):
            by_grid[gi].append(k)
        if n_grids:
            grid_area = shapely.area(self.grid_geoms)
            unit_area = np.bincount(self.unit_grid, shapely.area(self.unit_geoms)
                                    if len(self.unit_geoms) else None, minlength=n_grids)
            tiled = (np.abs(grid_area - unit_area) <= 1e-9 * grid_area) & (unit_area > 0)
        else:
            tiled = np.zeros(0, dtype=bool)
        geoms: list = []
        p_grid: list[int] = []
        p_unit: list[int] = []
        stray = False
        for gi in range(n_grids):
            ks = by_grid[gi]
            for k in ks:
                geoms.append(self.unit_geoms[k])
                p_grid.append(gi)
                p_unit.append(k)
            if tiled[gi]:
                continue
            grid = self.grid_geoms[gi]
            rest = grid
            if ks:
                mine = self.unit_geoms[ks]
                rest = shapely.difference(grid, shapely.union_all(mine))
                stray = stray or not bool(np.all(shapely.covers(grid, mine)))
            if not shapely.is_empty(rest):
                geoms.append(rest)
                p_grid.append(gi)
                p_unit.append(-1)
        self.piece_grid = np.array(p_grid, dtype=np.int64)
        self.piece_unit = np.array(p_unit, dtype=np.int64)
        self._piece_grid_l = p_grid
        self._piece_unit_l = p_unit
        self.pieces = CellIndex(np.array(geoms, dtype=object))
        # units that stick out of every grid still answer, with their own grid
        self.units = CellIndex(self.unit_geoms) if stray else None

    def responsible(self, grid_code: str, at: datetime | None = None) -> Role | None:
        """The worker answering for the grid at ``at``: the first candidate (in precedence
        order) whose role is valid then, as responsible_worker() in SQL; else None."""
        at = at or datetime.now(UTC)
        for role in self.roles.get(grid_code, ()):
            if role.valid_from <= at and (role.valid_to is None or at < role.valid_to):
                return role
        return None

    def nearest_grid(self, lon: float, lat: float, max_m: float) -> NearestGrid | None:
        """Nearest grid whose boundary is within ``max_m`` metres: (index, metres)."""
        if not len(self.grid_geoms) or max_m <= 0:
            return None
        coslat = max(math.cos(math.radians(lat)), 1e-6)
        dlat = max_m / M_PER_DEG
        dlon = dlat / coslat
        cand = self.grid_tree.query(shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat))
        best: NearestGrid | None = None
        origin = shapely.Point(0.0, 0.0)
        for i in sorted(int(c) for c in cand):
            local = shapely.transform(
                self.grid_geoms[i],
                lambda xy: np.column_stack(
                    [(xy[:, 0] - lon) * coslat * M_PER_DEG, (xy[:, 1] - lat) * M_PER_DEG]
                ),
            )
            d = float(shapely.distance(local, origin))
            if d <= max_m and (best is None or d < best[1]):
                best = NearestGrid(i, d)
        return best

    def locate_wgs84(self, lon: float, lat: float, at: datetime | None = None,
                     max_m: float | None = None) -> Location:
        """Locate one WGS84 point."""
        p = self.pieces.lookup(lon, lat)
        distance = None
        status = "inside"
        if p >= 0:
            g, u = self._piece_grid_l[p], self._piece_unit_l[p]
        else:
            u = self.units.lookup(lon, lat) if self.units is not None else -1
            g = self._unit_grid_l[u] if u >= 0 else -1
            if g < 0:
                near = self.nearest_grid(lon, lat, self.outside_max_m if max_m is None else max_m)
                if near is None:
                    return Location(lon, lat, "unassigned", generation=self.generation)
                g, distance = near
                distance = round(distance, 2)
                status = "outside"
        return self._location(lon, lat, status, g, u, distance, at)

    def _location(self, lon: float, lat: float, status: str, g: int, u: int,
                  distance: float | None, at: datetime | None) -> Location:
        """Fill a Location from grid and unit positions."""
        code = self.grid_codes[g]
        role = self.responsible(code, at)
        return Location(
            lon, lat, status,
            grid=code,
            unit=self.unit_codes[u] if u >= 0 else None,
            community=self.grid_community[g],
            street=self.grid_street[g],
            district=self.grid_district[g],
            worker=role.worker_code if role else None,
            worker_name=role.worker_name if role else None,
            grid_name=self.grid_names[g],
            grid_kind=self.grid_kinds[g],
            distance_m=distance,
            generation=self.generation,
            grid_id=self.grid_ids[g],
            unit_id=self.unit_ids[u] if u >= 0 else None,
            worker_id=role.worker_id if role else None,
        )

    def locate_many(self, lon: np.ndarray, lat: np.ndarray,
                    with_outside: bool = True) -> Located:
        """Bulk: (grid index, unit index, distance_m) per point; -1 / NaN when none."""
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        p = self.pieces.lookup_many(lon, lat)
        g = np.full(lon.shape, -1, dtype=np.int64)
        u = np.full(lon.shape, -1, dtype=np.int64)
        hit = p >= 0
        g[hit] = self.piece_grid[p[hit]]
        u[hit] = self.piece_unit[p[hit]]
        rest = np.nonzero(~hit)[0]
        if len(rest) and self.units is not None:
            su = self.units.lookup_many(lon[rest], lat[rest])
            ok = su >= 0
            u[rest[ok]] = su[ok]
            g[rest[ok]] = self.unit_grid[su[ok]]
        dist = np.full(lon.shape, np.nan)
        if with_outside:
            for k in np.nonzero(g < 0)[0]:
                near = self.nearest_grid(float(lon[k]), float(lat[k]), self.outside_max_m)
                if near is not None:
                    g[k], dist[k] = near
        return Located(g, u, dist)


def check_coordinates(lon: float, lat: float, prefix: str = "") -> None:
    """Reject NaN, infinite and out-of-range coordinates with the field and the reason."""
    for name, v, lim in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InvalidInput.field(prefix + name, f"must be a number, got {v!r}", "not_a_number")
        if math.isnan(v) or math.isinf(v):
            raise InvalidInput.field(prefix + name, f"must be a finite number, got {v}",
                                     "not_finite")
        if not -lim <= v <= lim:
            raise InvalidInput.field(
                prefix + name, f"{v} is out of range [-{lim:g}, {lim:g}]", "out_of_range"
            )


def datum_or_error(crs: str | None, prefix: str = "") -> Datum:
    """Resolve a point's datum name, or raise an InvalidInput naming the field."""
    try:
        found = resolve(crs or "wgs84", points=True)
    except UnknownDatumError as e:
        raise InvalidInput.field(prefix + "crs", str(e), "unknown_datum") from None
    assert found.datum is not None  # a point's crs is always a datum name
    return found.datum


class Locator:
    """The process-wide locator: cached snapshot, refreshed when the territory changes."""

    def __init__(self, engine: Engine, outside_max_m: float = 300.0, poll_s: float = 2.0) -> None:
        self.engine = engine
        self.outside_max_m = outside_max_m
        self.poll_s = poll_s
        self._snap: Snapshot | None = None
        self._next: Snapshot | None = None  # a draft's, built ahead of its activation
        self._checked = 0.0
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()

    # -- snapshot management -------------------------------------------------------------
    def load(self) -> Snapshot:
        """A snapshot of the active generation: the one built ahead (``prepare``) or the
        current one with fresh roles when its generation's rows are unchanged, else built
        from the database."""
        with self.engine.connect() as conn:
            gen, rev = conn.execute(q(SQL, "generation", PKG)).one()
            roles = conn.execute(q(SQL, "roles", PKG)).all()
            ready = self._ready(conn, gen)
            if ready is not None:
                log.info("locator: generation %s revision %s: index kept, roles reloaded",
                         gen, rev)
                return ready.with_roles(roles, rev)
            return self._build(conn, gen, rev, roles)

    def _ready(self, conn: Connection, gen: int | None) -> Snapshot | None:
        """A snapshot already built from generation ``gen`` as it is now, if any."""
        if gen is None:
            return None
        have = [s for s in (self._next, self._snap) if s is not None and s.generation == gen]
        if not have:
            return None
        now = conn.execute(q(SQL, "fingerprint", PKG), {"generation": gen}).scalar_one()
        return next((s for s in have if s.fingerprint == now), None)

    def _build(self, conn: Connection, gen: int | None, rev: int, roles: list) -> Snapshot:
        """Build the index of generation ``gen`` from the database."""
        grids = units = []
        fingerprint = None
        # the index is millions of long-lived objects: keep them out of the cyclic garbage
        # collector's passes, which would otherwise pause requests (the build runs beside
        # them, in the listener thread): no collection while building, then frozen
        collecting = gc.isenabled()
        gc.disable()
        try:
            if gen is not None:
                fingerprint = conn.execute(q(SQL, "fingerprint", PKG),
                                           {"generation": gen}).scalar_one()
                grids = conn.execute(q(SQL, "grids", PKG), {"generation": gen}).all()
                units = conn.execute(q(SQL, "units", PKG), {"generation": gen}).all()
            snap = Snapshot(gen, rev, grids, units, roles, self.outside_max_m)
            snap.fingerprint = fingerprint
        finally:
            gc.freeze()
            if collecting:
                gc.enable()
        log.info("locator: generation %s revision %s: %d grids, %d units",
                 gen, rev, len(grids), len(units))
        return snap

    def prepare(self, gen: int) -> None:
        """Build the index of generation ``gen`` (a draft about to be activated) now, so the
        refresh after its activation only swaps it in; requests go on meanwhile."""
        with self._lock:
            if self._snap is not None and self._snap.generation == gen:
                return
            with self.engine.connect() as conn:
                roles = conn.execute(q(SQL, "roles", PKG)).all()
                self._next = self._build(conn, gen, -1, roles)

    def refresh(self, force: bool = False) -> Snapshot:
        """Reload when the territory revision changed (or always with ``force``)."""
        with self._lock:
            if not force and self._snap is not None:
                with self.engine.connect() as conn:
                    rev = conn.execute(q(SQL, "revision", PKG)).scalar_one()
                self._checked = time.monotonic()
                if rev == self._snap.revision:
                    return self._snap
            self._snap = self.load()
            if self._next is not None and self._next.generation == self._snap.generation:
                self._next = None
            self._checked = time.monotonic()
            return self._snap

    @property
    def prepared(self) -> int | None:
        """The generation whose index was built ahead (``prepare``) and not swapped in yet."""
        nxt = self._next
        return None if nxt is None else nxt.generation

    @property
    def fresh(self) -> bool:
        """Whether ``snapshot`` answers without a database round trip (loaded, no revision
        check due): locating by coordinates may then run in an event loop."""
        return (self._snap is not None
                and (time.monotonic() - self._checked <= self.poll_s or self._lock.locked()))

    @property
    def snapshot(self) -> Snapshot:
        """Current snapshot; checks the revision at most every ``poll_s`` seconds."""
        snap = self._snap
        if snap is None:
            return self.refresh(force=True)
        if time.monotonic() - self._checked > self.poll_s and not self._lock.locked():
            try:
                return self.refresh()
            except Exception:  # keep serving the last good snapshot if the DB blips
                log.warning("locator: revision check failed; keeping revision %s", snap.revision)
                self._checked = time.monotonic()
        return snap

    def start_listener(self) -> None:
        """LISTEN for territory changes in a daemon thread; refresh at once on NOTIFY."""
        if self._listener is not None:
            return
        self._stop.clear()
        self._listener = threading.Thread(target=self._listen, name="locator-listen", daemon=True)
        self._listener.start()

    def stop_listener(self) -> None:
        """Stop the LISTEN thread."""
        self._stop.set()
        self._listener = None

    def _listen(self) -> None:
        """LISTEN loop; reconnects after failures."""
        import select

        while not self._stop.is_set():
            try:
                raw = self.engine.raw_connection()
                try:
                    dbapi = raw.dbapi_connection
                    dbapi.set_isolation_level(0)
                    with dbapi.cursor() as cur:
                        cur.execute(q(SQL, "listen", PKG).text)
                    while not self._stop.is_set():
                        if select.select([dbapi], [], [], 1.0)[0]:
                            dbapi.poll()
                            if dbapi.notifies:
                                said = [n.payload for n in dbapi.notifies]
                                dbapi.notifies.clear()
                                self.refresh()
                                for gen in {int(p[8:]) for p in said
                                            if p.startswith("prepare:")}:
                                    self.prepare(gen)
                finally:
                    raw.invalidate()
            except Exception:
                log.warning("locator: LISTEN connection lost; retrying", exc_info=True)
                self._stop.wait(2.0)

    # -- locating ------------------------------------------------------------------------
    def locate(self, lon: float, lat: float, crs: str | None = "wgs84",
               at: datetime | None = None, detect_swap: bool = True, prefix: str = "") -> Location:
        """Locate a point given in ``crs``; InvalidInput for bad points (including swapped ones)."""
        datum = datum_or_error(crs, prefix)
        snap = self.snapshot
        try:
            check_coordinates(lon, lat, prefix)
        except InvalidInput as err:
            if (detect_swap and err.code == "out_of_range"
                    and self._swapped_inside(snap, lon, lat, datum)):
                raise self._swap_error(lon, lat, prefix) from None
            raise
        wlon, wlat = to_wgs84(float(lon), float(lat), datum)
        loc = snap.locate_wgs84(wlon, wlat, at)
        if (detect_swap and loc.status == "unassigned"
                and self._swapped_inside(snap, lon, lat, datum)):
            raise self._swap_error(lon, lat, prefix)
        loc.input = {"lon": lon, "lat": lat, "crs": datum.value}
        return loc

    @staticmethod
    def _swapped_inside(snap: Snapshot, lon: float, lat: float, datum: Datum) -> bool:
        """True when (lat, lon) taken the other way round lands inside a grid."""
        if not (-180 <= lat <= 180 and -90 <= lon <= 90):
            return False
        slon, slat = to_wgs84(float(lat), float(lon), datum)
        return snap.locate_wgs84(slon, slat, max_m=0).status == "inside"

    @staticmethod
    def _swap_error(lon: float, lat: float, prefix: str) -> InvalidInput:
        """The InvalidInput for swapped coordinates."""
        return InvalidInput(
            f"{prefix}lon/{prefix}lat: longitude and latitude look swapped: ({lon}, {lat}) is "
            f"outside the territory but ({lat}, {lon}) is inside it; send lon={lat}, lat={lon}",
            code="swapped_coordinates",
            details=[{"field": prefix + "lon", "reason": "longitude and latitude look swapped"},
                     {"field": prefix + "lat", "reason": "longitude and latitude look swapped"}],
        )

    def locate_building(self, building_id: int | str, at: datetime | None = None,
                        prefix: str = "") -> Location:
        """Locate a report by building id (the building's point on surface)."""
        with self.engine.connect() as conn:
            row = None
            if isinstance(building_id, int) or str(building_id).isdigit():
                row = conn.execute(q(SQL, "building_point", PKG),
                                   {"building_id": int(building_id)}).first()
            if row is None:
                rows = conn.execute(q(SQL, "building_by_source_id", PKG),
                                    {"source_id": str(building_id)}).all()
                row = rows[0] if len(rows) == 1 else None
        if row is None:
            raise PlaceNotFound.building(building_id, prefix)
        loc = self.snapshot.locate_wgs84(row.lon, row.lat, at)
        loc.method = "building"
        loc.input = {"building_id": row.id}
        return loc

    def locate_address(self, address: str, at: datetime | None = None,
                       prefix: str = "") -> Location | None:
        """Locate by exact (case-insensitive) building address; None when not found or ambiguous."""
        if not address.strip():  # a blank address names no building
            return None
        with self.engine.connect() as conn:
            rows = conn.execute(q(SQL, "address_point", PKG), {"address": address.strip()}).all()
        if len(rows) != 1:
            return None
        loc = self.snapshot.locate_wgs84(rows[0].lon, rows[0].lat, at)
        loc.method = "address"
        loc.input = {"address": address, "building_id": rows[0].id}
        return loc
