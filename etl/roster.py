"""Roster: workers and the roles they hold in grids and units, from CSV.

Columns: worker_code, name, phone, id_number, role, area_code (grid or unit; ``grid`` /
``unit`` / ``grid_code`` accepted), valid_from, valid_to. Phone and ID numbers never appear in
logs or reports unmasked.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from sqlalchemy import Connection, Engine

from etl.common import Report, file_error, find_column, read_csv_text
from gis.access import accounts
from gis.clock import assume_cst
from gis.db.queries import q
from gis.territory import people
from gis.territory.people import ROLES, mask_id_number, mask_phone

log = logging.getLogger(__name__)
PHONE = re.compile(r"^(\+?86)?1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$")
ID18 = re.compile(r"^\d{17}[\dXx]$")
ROLE_ALIASES = {"网格长": "grid_leader", "网格指导员": "grid_instructor",
                "专职网格员": "full_time", "专业网格员": "specialist", "兼职网格员": "part_time",
                "网格辅助员": "auxiliary", "单元长": "unit_head", "楼栋长": "building_head",
                "志愿者": "volunteer"}


DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
NUMBER_RUN = re.compile(r"(?<![A-Za-z0-9])\+?\d[\d\- ]{5,}\d[Xx]?(?![A-Za-z0-9])")


def mask_text(s: str | None, keep: Collection[str] = ()) -> str | None:
    """``s`` with every number of 7 or more digits that is not a known code (``keep``) masked
    like a phone (138****5678) or, from 15 digits, like a resident ID."""
    if not s:
        return s

    def number(tok: str) -> str:
        digits = sum(ch.isdigit() for ch in tok)
        if digits < 7:
            return tok
        return (mask_id_number(tok) if digits >= 15 else mask_phone(tok)) or tok

    def one(m: re.Match) -> str:
        out: list[str] = []
        run: list[str] = []  # a number written in groups ("138 1234 5678") is masked whole
        for part in m.group(0).split(" "):
            if part in keep or DATE.fullmatch(part):
                out += [number(" ".join(run))] if run else []
                out.append(part)
                run = []
            else:
                run.append(part)
        out += [number(" ".join(run))] if run else []
        return " ".join(out)

    return NUMBER_RUN.sub(one, str(s))


def id_checksum_ok(idn: str) -> bool:
    """GB 11643 check digit of an 18-character resident ID."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(idn[:17], weights, strict=True))
    return "10X98765432"[total % 11] == idn[17].upper()


def _time(v: str | None) -> datetime | None:
    """A timezone-aware time from a date or ISO string; None when blank."""
    if v is None or not str(v).strip():
        return None
    return assume_cst(pd.Timestamp(str(v).strip()).to_pydatetime())


COLUMNS = {  # key: (accepted names, canonical name)
    "code": (("worker_code", "code", "worker"), "worker_code"),
    "name": (("name", "worker_name"), "name"),
    "phone": (("phone", "mobile", "tel"), "phone"),
    "idn": (("id_number", "id_card", "idcard"), "id_number"),
    "role": (("role",), "role"),
    "area": (("area_code", "grid_code", "grid", "unit_code", "unit"), "area_code"),
    "from": (("valid_from", "from", "start"), "valid_from"),
    "to": (("valid_to", "to", "end"), "valid_to"),
}
REQUIRED = ("code", "name", "role", "area")


@dataclass(frozen=True)
class RosterRow:
    """One roster row, trimmed, its role name resolved and its dates read."""

    row: int
    code: str
    name: str
    phone: str
    id_number: str
    role: str
    area: str
    valid_from: datetime | None
    valid_to: datetime | None


@dataclass
class Roster:
    """The valid part of a roster: workers by code (first seen first) and role rows in order."""

    workers: dict[str, people.Worker] = field(default_factory=dict)
    roles: list[RosterRow] = field(default_factory=list)


class RosterFile(NamedTuple):
    """The roster's rows and which column holds each field."""

    frame: pd.DataFrame
    columns: dict[str, str | None]


class RosterWritten(NamedTuple):
    """The workers saved and the role periods recorded."""

    saved: people.WorkersSaved
    recorded: people.RolesRecorded


def read_roster(p: Path, encoding: str | None, report: Report) -> RosterFile:
    """The roster's rows and which column holds each field; file-level errors raise."""
    df, report.encoding = read_csv_text(p, encoding)
    report.rows_read = len(df)
    if not len(df):
        raise file_error(f"{p.name}: the file has no rows", "empty_file")
    cols = list(df.columns)
    c = {k: find_column(cols, None, names, canon) for k, (names, canon) in COLUMNS.items()}
    missing = [k for k in REQUIRED if c[k] is None]
    if missing:
        names = [COLUMNS[m][1] for m in missing]
        raise file_error(f"missing column(s) {', '.join(names)}; the file's "
                         f"columns are: {', '.join(repr(x) for x in cols)}", "unknown_column",
                         names[0])
    return RosterFile(df, c)


def _field_problems(rec: dict, c: dict[str, str | None], areas: dict[str, str],
                    i: int) -> tuple[RosterRow, list[tuple[str, str, str]]]:
    """Row ``i`` read, and what is wrong with its fields on their own."""
    code, name, role, area = (rec[c[k]].strip() for k in REQUIRED)
    phone = rec[c["phone"]].strip().replace(" ", "") if c["phone"] else ""
    idn = rec[c["idn"]].strip() if c["idn"] else ""
    role = ROLE_ALIASES.get(role, role.lower())
    problems = []
    if not code:
        problems.append(("worker_code", "missing_id", "the worker code is empty"))
    if not name:
        problems.append(("name", "missing_name", "the name is empty"))
    if phone and not PHONE.match(phone):
        problems.append(("phone", "bad_phone", f"{mask_phone(phone)} is not a mainland "
                         "mobile or landline number"))
    if idn and not (ID18.match(idn) and id_checksum_ok(idn)):
        problems.append(("id_number", "bad_id_number", f"{mask_id_number(idn)} is not a "
                         "valid 18-character resident ID (format or check digit)"))
    if role not in ROLES:
        problems.append(("role", "bad_role", f"role {role!r} is not one of {', '.join(ROLES)}"))
    if area not in areas:
        problems.append(("area_code", "unknown_area", f"no grid or unit {area!r}"))
    elif areas[area] not in ("grid", "unit"):
        problems.append(("area_code", "not_grid_or_unit",
                         f"{area!r} is a {areas[area]}; roles are held in a grid or unit"))
    try:
        vf = _time(rec[c["from"]]) if c["from"] else None
        vt = _time(rec[c["to"]]) if c["to"] else None
        if vf and vt and vt <= vf:
            problems.append(("valid_to", "bad_period", "valid_to is not after valid_from"))
    except (ValueError, TypeError) as e:
        problems.append(("valid_from/valid_to", "bad_date", f"not a date: {e}"))
        vf = vt = None
    return RosterRow(i, code, name, phone, idn, role, area, vf, vt), problems


def check_rows(df: pd.DataFrame, c: dict[str, str | None], areas: dict[str, str],
               report: Report) -> Roster:
    """The rows that can be loaded; each other row is rejected (masked) with its reasons."""
    out = Roster()
    seen_roles: dict[tuple, int] = {}
    for i, rec in enumerate(df.to_dict("records"), start=1):
        r, problems = _field_problems(rec, c, areas, i)
        key = (r.code, r.area, r.role, r.valid_from)
        if not problems and key in seen_roles:
            problems.append(("worker_code", "duplicate_row",
                             f"same worker, area, role and start as row {seen_roles[key]}"))
        known = out.workers.get(r.code)
        if known is not None and not problems and known.name != r.name:
            problems.append(("name", "conflicting_worker",
                             f"worker {r.code} is named {known.name!r} in an earlier row"))
        if problems:
            for f, k, why in problems:  # a misaligned row may hold a phone or ID anywhere
                report.reject(i, mask_text(r.code, areas) or None, f, k, mask_text(why, areas))
            continue
        seen_roles[key] = i
        out.workers[r.code] = people.Worker(r.code, r.name, r.phone or None, r.id_number or None)
        out.roles.append(r)
    report.notes.append(f"{len(out.workers)} worker(s), {len(out.roles)} role(s) valid; phone "
                        "and ID numbers are masked in this report")
    return out


def write_roster(conn: Connection, roster: Roster,
                 file_name: str) -> RosterWritten:
    """Save the workers and record their role periods (through gis.territory.people)."""
    saved = people.save_workers(conn, roster.workers.values())
    periods = [people.RolePeriod(saved.ids[r.code], r.area, r.role, r.valid_from, r.valid_to)
               for r in roster.roles]
    # open events of the grids whose roles changed follow the new responsible worker
    recorded = people.record_role_periods(conn, periods, now=datetime.now(UTC),
                                          actor="etl:roster", note=f"roster {file_name}")
    return RosterWritten(saved, recorded)


def report_changes(report: Report, roster: Roster, saved: people.WorkersSaved,
                   recorded: people.RolesRecorded) -> None:
    """Counts, the masked worker list and a reject for each role period that was refused."""
    report.inserted, report.updated, report.unchanged = (saved.inserted, saved.updated,
                                                         saved.unchanged)
    for r, o in zip(roster.roles, recorded.outcomes, strict=True):
        if o.change == "nothing_to_end":
            report.reject(r.row, r.code, "valid_to", "nothing_to_end",
                          f"no open {r.role} role of {r.code} in {r.area} to end at "
                          f"{r.valid_to.isoformat()}; give valid_from to record a past role")
        elif o.change == "ends_before_start":
            report.reject(r.row, r.code, "valid_to", "ends_before_start",
                          f"valid_to {r.valid_to.isoformat()} is not after the start of the "
                          f"{r.role} role of {r.code} in {r.area} "
                          f"({o.held_from.isoformat()}); give valid_from")
    report.placement = {
        "roles_added": recorded.count("added"),
        "roles_changed": recorded.count("ended", "reopened"),
        "roles_ended": recorded.count("ended"),
        "roles_unchanged": recorded.count("unchanged"),
        "open_events_reassigned": recorded.reassigned,
        "workers": [{"code": w.code, "name": w.name, "phone": mask_phone(w.phone),
                     "id_number": mask_id_number(w.id_number)}
                    for w in list(roster.workers.values())[:50]]}


class RosterLoad(NamedTuple):
    """The load report and, when asked, the accounts made for the roster's workers (their
    one-time passwords for the caller to show once; none in a preview)."""

    report: Report
    accounts: accounts.WorkerAccounts | None


def load_file(engine: Engine, path: str | Path, commit: bool = False,
              encoding: str | None = None) -> Report:
    """Validate a roster CSV and upsert workers and roles (preview unless ``commit``)."""
    return load(engine, path, commit, encoding).report


def _accounts(conn: Connection, report: Report, roster: Roster, by: str,
              commit: bool) -> accounts.WorkerAccounts:
    """Accounts for the roster's workers who have none (``gis.access.accounts``); counted in
    the report, never their passwords."""
    made = accounts.create_worker_accounts(conn, list(roster.workers), by, commit)
    report.placement["accounts"] = {
        "username": "worker code" if by == "code" else "phone",
        "created" if commit else "would_create": made.planned,
        "skipped": [{"worker": s.worker, "reason": s.reason} for s in made.skipped]}
    return made


def load(engine: Engine, path: str | Path, commit: bool = False, encoding: str | None = None,
         accounts_by: str | None = None) -> RosterLoad:
    """``load_file``; with ``accounts_by`` (``code`` or ``phone``) also an account with a
    one-time password for every worker of the file who has none (grid_worker role)."""
    t0 = time.perf_counter()
    p = Path(path)
    report = Report(kind="roster", file=str(p))
    df, c = read_roster(p, encoding, report)
    with engine.connect() as conn:
        areas = dict(conn.execute(q("etl.sql", "roster_areas", "etl.sql")).all())
    roster = check_rows(df, c, areas, report)
    made = None
    with engine.begin() as conn:
        saved, recorded = write_roster(conn, roster, p.name)
        report_changes(report, roster, saved, recorded)
        if accounts_by is not None:
            made = _accounts(conn, report, roster, accounts_by, commit)
        if not commit:
            conn.rollback()
    report.committed = commit
    report.elapsed_s = round(time.perf_counter() - t0, 3)
    log.info("roster %s: %d workers, %d roles, %d rejected, %s accounts", p.name,
             len(roster.workers), len(roster.roles), report.rejected,
             made.planned if made else "no")
    return RosterLoad(report, made)
