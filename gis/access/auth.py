"""API tokens with roles and areas, the checks of who may do what, and the audit log."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.access import scope
from gis.db.queries import q
from gis.errors import Forbidden, InvalidInput, NotFound, Unauthorized, WanggeError

ROLES = ("grid_worker", "community_dispatcher", "street_dispatcher", "district_centre", "planner",
         "department")
# The area level each role's --area must have (docs/ROLES.md); None: the role takes no area.
# The district centre may name its district (it sees everything either way).
AREA_LEVEL = {"community_dispatcher": "community", "street_dispatcher": "street"}
AREA_LEVELS: dict[str, tuple[str, ...] | None] = {
    "grid_worker": ("grid",), "community_dispatcher": ("community",),
    "street_dispatcher": ("street",), "district_centre": ("district",), "planner": None,
    "department": None,
}
PREFIX = "wg_"
SQL = "auth.sql"
PKG = "gis.access.sql"


@dataclass(frozen=True)
class Principal:
    """Who is acting: a token's role and the area codes it may act on."""

    role: str
    areas: tuple[str, ...] = ()
    worker_code: str | None = None
    token_id: int | None = None
    name: str = ""
    department: str | None = None
    must_change_password: bool = False  # a session whose account still has its initial password

    @property
    def actor(self) -> str:
        """The name written into history and the audit log."""
        if self.role == "department" and not self.name:
            return f"department:{self.department}"
        return self.worker_code or self.name or f"{self.role}#{self.token_id}"

    def covers(self, ev: Any) -> bool:
        """True when the event lies in this principal's area (codes start with their parent's).

        Only the grid code counts: community and street codes are derived from it, so an event
        without a grid (unassigned) belongs to the district centre alone. The rule is
        ``gis.access.scope`` (in SQL: ``in_scope``), applied to ``scope_prefixes``.
        """
        return scope.in_scope(ev["grid_code"], self.scope_prefixes)

    @property
    def scope_prefixes(self) -> scope.Prefixes:
        """The code prefixes this principal may see by area (None: everything)."""
        return scope.prefixes_of(self.role, self.areas)


SYSTEM = Principal("district_centre", name="system")


class ReadScope(TypedDict):
    """The bound parameters that limit event reads (``read_scope``)."""

    scope_prefixes: scope.Prefixes
    scope_department: str | None


class TokenCreated(TypedDict):
    """A new API token; ``token`` (the secret) is shown this once (``create_token``)."""

    id: int
    token: str
    role: str
    area: str | None
    worker: str | None
    department: str | None
    expires_at: datetime | None


class TokenRow(TypedDict):
    """An API token without its secret (``list_tokens``)."""

    id: int
    prefix: str
    role: str
    area_code: str | None
    worker_code: str | None
    department: str | None
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class AuditEntry(TypedDict):
    """One audit row (``audit_entries``)."""

    id: int
    at: datetime
    token_id: int | None
    role: str | None
    actor: str | None
    action: str
    target: str | None
    outcome: str
    data: dict[str, Any]


class Refusal(NamedTuple):
    """Audit outcome (``denied`` / ``refused``) and code of a refused request."""

    outcome: str
    code: str


def read_scope(who: Principal | None) -> ReadScope:
    """The bound parameters that limit event reads to what ``who`` may see.

    ``scope_prefixes``: code prefixes an event's grid code must start with (None = every
    event, [] = none by area); ``scope_department``: a department also sees the events it was
    notified of. No principal (CLI, dashboard) and the district centre see everything.
    """
    if who is None:
        return {"scope_prefixes": None, "scope_department": None}
    department = (who.department or "") if who.role == "department" else None
    return {"scope_prefixes": who.scope_prefixes, "scope_department": department}


def hash_token(token: str) -> str:
    """SHA-256 of a token (only the hash is stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(engine: Engine, role: str, area: str | None = None, worker: str | None = None,
                 name: str = "", expires_at: datetime | None = None,
                 department: str | None = None) -> TokenCreated:
    """Create a token; the secret is returned once and stored only as a hash.

    A ``department`` token names one department of the dispatch rules (police, fire, ...).
    """
    check_role(role, area, worker, department)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise InvalidInput.field("expires_at", "needs a time zone", "naive_time")
        if expires_at <= now_utc():
            raise InvalidInput.field("expires_at", "is in the past", "expired")
    with engine.begin() as conn:
        check_area_worker(conn, role, area, worker)
        token = PREFIX + secrets.token_urlsafe(32)
        tid = conn.execute(q(SQL, "insert_token", PKG), {
            "h": hash_token(token), "p": token[:10], "r": role, "a": area, "w": worker,
            "n": name, "x": expires_at, "d": department}).scalar_one()
        audit(conn, SYSTEM, "token.create", f"token:{tid}", "ok",
              {"role": role, "area": area, "worker": worker, "department": department,
               "expires_at": expires_at})
    return {"id": tid, "token": token, "role": role, "area": area, "worker": worker,
            "department": department, "expires_at": expires_at}


def check_grant(conn: Connection, role: str, area: str | None, worker: str | None,
                department: str | None) -> None:
    """InvalidInput unless role, area, worker and department fit together (tokens, accounts)."""
    check_role(role, area, worker, department)
    check_area_worker(conn, role, area, worker)


def check_role(role: str, area: str | None, worker: str | None, department: str | None) -> None:
    """InvalidInput unless the role is known and its department fits (no database needed)."""
    if role not in ROLES:
        raise InvalidInput.field("role", f"must be one of {', '.join(ROLES)}", "unknown_role")
    if role == "department":
        from gis import rulebook

        known = rulebook.rules().departments
        if not department:
            raise InvalidInput.field("department", "a department token needs a department code",
                                     "department_required")
        if department not in known:
            raise InvalidInput.field("department", f"unknown department {department!r}; one of "
                                     f"{', '.join(known)}", "unknown_department")
        if area is not None or worker is not None:
            raise InvalidInput.field("area", "a department token has no area or worker",
                                     "area_not_allowed")
    elif department is not None:
        raise InvalidInput.field("department", "only a department token names a department",
                                 "department_not_allowed")


def check_area_worker(conn: Connection, role: str, area: str | None, worker: str | None) -> None:
    """InvalidInput unless the area has the role's level and the worker exists."""
    if area is not None:
        check_area_level(conn, role, area)
    elif role in AREA_LEVEL:
        raise InvalidInput.field("area", f"a {role} needs an area code", "area_required")
    if worker is not None:
        ok = conn.execute(q(SQL, "worker_exists", PKG), {"c": worker}).first()
        if ok is None:
            raise InvalidInput.field("worker", f"unknown worker {worker!r}", "unknown_worker")
    if role == "grid_worker" and area is None and worker is None:
        raise InvalidInput.field("area", "a grid_worker needs a grid code or a worker code",
                                 "area_required")


def check_area_level(conn: Connection, role: str, area: str) -> None:
    """InvalidInput unless ``area`` is a code of the level ``role`` acts on (docs/ROLES.md)."""
    want = AREA_LEVELS.get(role)
    if want is None:
        raise InvalidInput.field("area", f"a {role} token has no area", "area_not_allowed")
    level = conn.execute(q(SQL, "area_level", PKG), {"c": area}).scalar()
    if level is None:
        raise InvalidInput.field("area", f"unknown area {area!r}", "unknown_area")
    if level not in want:
        raise InvalidInput.field("area", f"a {role} needs a {' or '.join(want)} code; {area} "
                                 f"is a {level}", "wrong_area_level")


def revoke_token(engine: Engine, token_id: int) -> bool:
    """Revoke a token; True when it was active (every API process refuses it at once)."""
    with engine.begin() as conn:
        n = conn.execute(q(SQL, "revoke_token", PKG), {"i": token_id}).rowcount
        audit(conn, SYSTEM, "token.revoke", f"token:{token_id}", "ok" if n else "refused", {})
    return bool(n)


def list_tokens(engine: Engine) -> list[TokenRow]:
    """Tokens without their secrets."""
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "list_tokens", PKG)).mappings()
        return [TokenRow(**r) for r in rows]


def _token_areas(role: str, area: str | None,
                 worker_areas: list[str] | None) -> tuple[str, ...]:
    """Area codes a token acts on: its area, else the grids its worker holds a role in."""
    if area:
        return (area,)
    if role == "grid_worker":
        return tuple(worker_areas or ())
    return ()


def _areas(conn: Connection, role: str, area: str | None, worker: str | None) -> tuple[str, ...]:
    """Area codes of a token's role, area and worker (the grids the worker holds a role in)."""
    if area or role != "grid_worker" or not worker:
        return _token_areas(role, area, None)
    rows = conn.execute(q(SQL, "worker_areas", PKG), {"w": worker})
    return tuple(r[0] for r in rows)


def authenticate(engine: Engine, token: str | None) -> Principal:
    """The principal of a bearer token; Unauthorized when missing, unknown, revoked or expired.

    The token row is read on every request (one indexed statement, autocommit): a token
    revoked or expired anywhere (CLI, another API process) is refused at once.
    """
    if not token:
        raise Unauthorized("missing bearer token (Authorization: Bearer wg_...)",
                           code="missing_token")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(q(SQL, "token_principal", PKG),
                           {"h": hash_token(token)}).first()
    if row is None:
        raise Unauthorized("invalid, revoked or expired token", code="invalid_token")
    return Principal(row.role, _token_areas(row.role, row.area_code, row.worker_areas),
                     row.worker_code, row.id, row.name, row.department,
                     bool(row.must_change_password))


TOKEN_CACHE_S = 2.0  # how long a checked token's principal is reused by intake


class TokenCache:
    """Principals of tokens checked in the last ``TOKEN_CACHE_S`` seconds (per process).

    Only for writes whose storing statement checks the token again (event intake, see
    ``gis/intake/sql/events_store.sql``): a token revoked or expired anywhere is refused there
    at once, with nothing stored. What may be up to ``TOKEN_CACHE_S`` old is the rest of the
    principal: role, area and name, which a token keeps for its life, and its worker's grids.
    A session that must change its password is never cached.
    """

    def __init__(self, ttl_s: float = TOKEN_CACHE_S) -> None:
        self.ttl_s = ttl_s
        self._hits: dict[tuple[Engine, str], tuple[Principal, float]] = {}

    def get(self, engine: Engine, token: str | None) -> Principal | None:
        """The cached principal of ``token``, or None (unknown or too old)."""
        if not token:
            return None
        hit = self._hits.get((engine, hash_token(token)))
        if hit is None or time.monotonic() - hit[1] > self.ttl_s:
            return None
        return hit[0]

    def put(self, engine: Engine, token: str | None, p: Principal) -> None:
        """Remember a principal just read from the database."""
        if not token or p.must_change_password or p.token_id is None:
            return
        if len(self._hits) > 10_000:  # many devices: start again rather than grow
            self._hits.clear()
        self._hits[(engine, hash_token(token))] = (p, time.monotonic())

    def drop(self, engine: Engine, token: str | None) -> None:
        """Forget a token (refused at commit)."""
        if token:
            self._hits.pop((engine, hash_token(token)), None)


token_cache = TokenCache()


def audit(conn: Connection, who: Principal | None, action: str, target: str | None,
          outcome: str, data: dict[str, Any] | None = None) -> None:
    """Append one audit row in the caller's transaction."""
    conn.execute(
        q(SQL, "audit", PKG),
        {"t": who.token_id if who else None, "r": who.role if who else None,
         "a": who.actor if who else None, "act": action, "tg": target, "o": outcome,
         "d": json.dumps(data or {}, default=str, ensure_ascii=False)})


def audit_now(engine: Engine, who: Principal | None, action: str, target: str | None,
              outcome: str, data: dict[str, Any] | None = None) -> None:
    """Append one audit row in its own transaction (for refusals)."""
    with engine.begin() as conn:
        audit(conn, who, action, target, outcome, data)


def audit_entries(engine: Engine, limit: int = 100, target: str | None = None,
                  since: datetime | None = None) -> list[AuditEntry]:
    """Newest audit rows first."""
    with engine.connect() as conn:
        rows = conn.execute(
            q(SQL, "audit_entries", PKG),
            {"t": target, "s": since, "l": limit}).mappings()
        return [AuditEntry(**r) for r in rows]


BOUNDARY_WRITERS = ("planner", "district_centre")  # who may import and roll back boundaries


def may_change_boundaries(p: Principal) -> bool:
    """True when the principal may change boundaries (the API's writes, the planner's page)."""
    return p.role in BOUNDARY_WRITERS


def check_boundary_writer(p: Principal) -> None:
    """Forbidden unless the principal may change boundaries."""
    if not may_change_boundaries(p):
        raise Forbidden("only planners and the district centre change boundaries",
                        code="wrong_role")


def require_role(p: Principal, *roles: str) -> None:
    """Forbidden unless the principal holds one of ``roles``."""
    if p.role not in roles:
        raise Forbidden(f"role {p.role} may not do this (needs {' or '.join(roles)})",
                        code="wrong_role")


class Hidden(NotFound):
    """Something outside the caller's area: answered exactly as if it did not exist.

    ``audit_code`` is what the audit log records (``outside_area``); the caller never sees it.
    """

    def __init__(self, message: str, *, code: str, audit_code: str = "outside_area") -> None:
        super().__init__(message, code=code)
        self.audit_code = audit_code


def check_area(p: Principal, ev: Any) -> None:
    """Hidden, as for a missing event, when the event lies outside the principal's area."""
    if not p.covers(ev):
        raise outside_area(p, ev["id"], ev["grid_code"])


def outside_area(p: Principal, event_id: Any, grid_code: str | None = None) -> Hidden:
    """The answer for an event the principal may not see or act on: the body of a missing one.

    Neither the event's grid nor the caller's area is named (that told the grid of any id).
    """
    return Hidden(f"no event {event_id}", code="event_not_found")


def refusal(e: WanggeError) -> Refusal:
    """Audit outcome and code of a refused request (an area refusal is ``denied``)."""
    code = getattr(e, "audit_code", e.code)
    denied = isinstance(e, (Unauthorized, Forbidden, Hidden))
    return Refusal("denied" if denied else "refused", code)


def check_track_worker(engine: Engine, p: Principal, worker: str) -> None:
    """Forbidden unless ``p`` may post a patrol track of ``worker``.

    A grid worker posts only their own tracks; a dispatcher those of workers holding a current
    role in their area; the district centre anyone's. Unknown workers are left to the intake
    (UnknownReference). Refusals are audited.
    """
    if p.role == "district_centre":
        return
    err: Forbidden | None = None
    if p.role == "grid_worker":
        if not p.worker_code or p.worker_code != worker:
            err = Forbidden(f"a grid worker posts only their own tracks (token of "
                            f"{p.worker_code or 'no worker'}, track of {worker})",
                            code="not_your_track")
    elif p.role in AREA_LEVEL:
        with engine.connect() as conn:
            row = conn.execute(q(SQL, "worker_role_areas", PKG), {"w": worker}).first()
        if row is None:
            return
        if not any(scope.in_scope(c, p.scope_prefixes) for c in row.areas):
            err = Forbidden(f"worker {worker} does not work in your area "
                            f"({', '.join(p.areas)})", code="outside_area")
    else:
        err = Forbidden(f"role {p.role} may not post patrol tracks", code="wrong_role")
    if err is not None:
        audit_now(engine, p, "patrol.report", f"worker:{worker}", "denied", {"code": err.code})
        raise err


ANONYMOUS = Principal("district_centre", name="anonymous (auth off)")


def now_utc() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)
