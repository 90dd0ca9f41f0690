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
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, text

from etl.common import Report, file_error, find_column, read_csv_text
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
    t = pd.Timestamp(str(v).strip())
    if t.tzinfo is None:
        t = t.tz_localize("Asia/Shanghai")
    return t.to_pydatetime()


def load_file(engine: Engine, path: str | Path, commit: bool = False,
              encoding: str | None = None) -> Report:
    """Validate a roster CSV and upsert workers and roles (preview unless ``commit``)."""
    t0 = time.perf_counter()
    p = Path(path)
    report = Report(kind="roster", file=str(p))
    df, report.encoding = read_csv_text(p, encoding)
    report.rows_read = len(df)
    if not len(df):
        raise file_error(f"{p.name}: the file has no rows", "empty_file")
    cols = list(df.columns)
    c = {
        "code": find_column(cols, None, ("worker_code", "code", "worker"), "worker_code"),
        "name": find_column(cols, None, ("name", "worker_name"), "name"),
        "phone": find_column(cols, None, ("phone", "mobile", "tel"), "phone"),
        "idn": find_column(cols, None, ("id_number", "id_card", "idcard"), "id_number"),
        "role": find_column(cols, None, ("role",), "role"),
        "area": find_column(cols, None, ("area_code", "grid_code", "grid", "unit_code", "unit"),
                            "area_code"),
        "from": find_column(cols, None, ("valid_from", "from", "start"), "valid_from"),
        "to": find_column(cols, None, ("valid_to", "to", "end"), "valid_to"),
    }
    missing = [k for k, name in (("code", "worker_code"), ("name", "name"), ("role", "role"),
                                 ("area", "area_code")) if c[k] is None]
    if missing:
        names = {"code": "worker_code", "name": "name", "role": "role", "area": "area_code"}
        raise file_error(f"missing column(s) {', '.join(names[m] for m in missing)}; the file's "
                         f"columns are: {', '.join(repr(x) for x in cols)}", "unknown_column",
                         names[missing[0]])
    with engine.connect() as conn:
        areas = dict(conn.execute(text("SELECT code, level FROM area")).all())
    workers: dict[str, tuple[str, str | None, str | None]] = {}
    roles: list[tuple[str, str, str, datetime | None, datetime | None]] = []
    seen_roles: dict[tuple, int] = {}
    rows_of: dict[tuple, int] = {}
    for i, rec in enumerate(df.to_dict("records"), start=1):
        code = rec[c["code"]].strip()
        name = rec[c["name"]].strip()
        phone = rec[c["phone"]].strip().replace(" ", "") if c["phone"] else ""
        idn = rec[c["idn"]].strip() if c["idn"] else ""
        role = rec[c["role"]].strip()
        role = ROLE_ALIASES.get(role, role.lower())
        area = rec[c["area"]].strip()
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
            problems.append(("role", "bad_role", f"role {role!r} is not one of "
                             f"{', '.join(ROLES)}"))
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
        key = (code, area, role, vf)
        if not problems and key in seen_roles:
            problems.append(("worker_code", "duplicate_row",
                             f"same worker, area, role and start as row {seen_roles[key]}"))
        if code in workers and not problems and workers[code][0] != name:
            problems.append(("name", "conflicting_worker",
                             f"worker {code} is named {workers[code][0]!r} in an earlier row"))
        if problems:
            for f, k, why in problems:  # a misaligned row may hold a phone or ID anywhere
                report.reject(i, mask_text(code, areas) or None, f, k, mask_text(why, areas))
            continue
        seen_roles[key] = i
        rows_of[(code, area, role, vf)] = i
        workers[code] = (name, phone or None, idn or None)
        roles.append((code, area, role, vf, vt))
    report.notes.append(f"{len(workers)} worker(s), {len(roles)} role(s) valid; phone and ID "
                        "numbers are masked in this report")
    with engine.begin() as conn:
        existing = {r.code: r for r in conn.execute(text(
            "SELECT code, name, phone, id_number FROM worker WHERE code = ANY(:c)"),
            {"c": list(workers)})}
        for code, (name, phone, idn) in workers.items():
            old = existing.get(code)
            if old is None:
                report.inserted += 1
            elif (old.name, old.phone, old.id_number) != (name, phone or old.phone,
                                                         idn or old.id_number):
                report.updated += 1
            else:
                report.unchanged += 1
            conn.execute(text(
                "INSERT INTO worker (code, name, phone, id_number) VALUES (:c, :n, :p, :i) "
                "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, "
                "phone = coalesce(EXCLUDED.phone, worker.phone), "
                "id_number = coalesce(EXCLUDED.id_number, worker.id_number) "
                "WHERE (worker.name, worker.phone, worker.id_number) IS DISTINCT FROM "
                "(EXCLUDED.name, coalesce(EXCLUDED.phone, worker.phone), "
                "coalesce(EXCLUDED.id_number, worker.id_number))"),
                {"c": code, "n": name, "p": phone, "i": idn})
        ids = dict(conn.execute(text("SELECT code, id FROM worker WHERE code = ANY(:c)"),
                                {"c": list(workers)}).all())
        new_roles = changed_roles = ended_roles = 0
        now = datetime.now(UTC)
        for code, area, role, vf, vt in roles:
            w = ids[code]
            if vf is not None:
                # the role that starts then (ended or not): its end follows the roster
                row = conn.execute(text(
                    "SELECT id, valid_from, valid_to FROM grid_role WHERE worker_id = :w AND "
                    "area_code = :a AND role = :r AND valid_from = :f ORDER BY id LIMIT 1"),
                    {"w": w, "a": area, "r": role, "f": vf}).first()
            else:
                # no start given: the open role (a valid_to ends it), else the one this same
                # row ended on an earlier load (nothing to do)
                row = conn.execute(text(
                    "SELECT id, valid_from, valid_to FROM grid_role WHERE worker_id = :w AND "
                    "area_code = :a AND role = :r AND (valid_to IS NULL OR valid_to = :t) "
                    "ORDER BY (valid_to IS NULL) DESC, valid_from DESC, id DESC LIMIT 1"),
                    {"w": w, "a": area, "r": role, "t": vt}).first()
            if row is None:
                start = vf or now
                if vt is not None and vt <= start:
                    report.reject(rows_of[(code, area, role, vf)], code, "valid_to",
                                  "nothing_to_end",
                                  f"no open {role} role of {code} in {area} to end at "
                                  f"{vt.isoformat()}; give valid_from to record a past role")
                    continue
                conn.execute(text(
                    "INSERT INTO grid_role (worker_id, area_code, role, valid_from, valid_to) "
                    "VALUES (:w, :a, :r, :f, :t)"),
                    {"w": w, "a": area, "r": role, "f": start, "t": vt})
                new_roles += 1
            elif row.valid_to != vt and vt is not None and vt <= row.valid_from:
                report.reject(rows_of[(code, area, role, vf)], code, "valid_to",
                              "ends_before_start",
                              f"valid_to {vt.isoformat()} is not after the start of the "
                              f"{role} role of {code} in {area} "
                              f"({row.valid_from.isoformat()}); give valid_from")
            elif row.valid_to != vt:
                conn.execute(text("UPDATE grid_role SET valid_to = :t WHERE id = :id"),
                             {"t": vt, "id": row.id})
                changed_roles += 1
                if vt is not None:
                    ended_roles += 1
        done = len(roles) - sum(1 for r in report.rejects
                                if r.code in ("nothing_to_end", "ends_before_start"))
        # open events of the grids whose roles changed follow the new responsible worker
        reassigned = (people.rederive_workers(conn, sorted({r[1] for r in roles}),
                                              actor="etl:roster", note=f"roster {p.name}")
                      if new_roles or changed_roles else 0)
        report.placement = {"roles_added": new_roles, "roles_changed": changed_roles,
                            "roles_ended": ended_roles,
                            "roles_unchanged": done - new_roles - changed_roles,
                            "open_events_reassigned": reassigned,
                            "workers": [{"code": k, "name": v[0], "phone": mask_phone(v[1]),
                                         "id_number": mask_id_number(v[2])}
                                        for k, v in list(workers.items())[:50]]}
        if not commit:
            conn.rollback()
    report.committed = commit
    report.elapsed_s = round(time.perf_counter() - t0, 3)
    log.info("roster %s: %d workers, %d roles, %d rejected", p.name, len(workers), len(roles),
             report.rejected)
    return report
