"""The rule book (流转规则): handling level, notified departments, time limits, patrol duty.

Read from ``gis/data/dispatch_rules.toml`` (or the file the environment variable
``WANGGE_DISPATCH_RULES_PATH`` names; it is not read from ``.env``); every room that
needs a rule (intake, access, workflow, oversight) reads it here.
"""

from __future__ import annotations

import os
import time
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from gis.calendar import UNITS, TimeLimit
from gis.errors import InvalidInput

LEVELS = ("grid", "community", "street", "district")


@dataclass(frozen=True)
class Rule:
    """One [[rule]] of the rules file."""

    item: str | None = None
    class_code: str | None = None
    at_level: str | None = None
    level: str | None = None
    departments: tuple[str, ...] | None = None
    time_limit_h: dict[str, float] = field(default_factory=dict)
    time_limit_unit: str = "h"  # the unit of time_limit_h's amounts (calendar.UNITS)

    def specificity(self) -> int:
        """Higher wins: item+level 5, item 4, class+level 3, class 2, default+level 1, default 0."""
        base = 4 if self.item else 2 if self.class_code else 0
        return base + (1 if self.at_level else 0)

    def matches(self, item: str, class_code: str, level: str | None) -> bool:
        """True when the rule applies to this item at this level."""
        if self.item and self.item != item:
            return False
        if not self.item and self.class_code and self.class_code != class_code:
            return False
        return not (self.at_level and self.at_level != level)


@dataclass(frozen=True)
class Rules:
    """A parsed rules file."""

    departments: dict[str, str]
    limits: dict[str, float]
    rules: tuple[Rule, ...]
    limits_unit: str = "h"  # the unit of [limits] (its key ``unit``)
    points_accepted: int = 10
    patrols_per_day: int = 1
    unit_distance_m: float = 30.0
    unvisited_days: int = 7
    path: str = ""

    def matching(self, item: str, class_code: str, level: str | None) -> list[Rule]:
        """Matching rules, most specific first."""
        found = [r for r in self.rules if r.matches(item, class_code, level)]
        return sorted(found, key=lambda r: -r.specificity())

    def departments_for(self, item: str, class_code: str, level: str) -> list[str]:
        """Departments notified for this item at this level (most specific rule that says)."""
        for r in self.matching(item, class_code, level):
            if r.departments is not None:
                return list(r.departments)
        return []

    def handling_level(self, item: str, class_code: str, default_level: str) -> str:
        """The level an event is dispatched to by default."""
        for r in self.matching(item, class_code, None):
            if r.level:
                return r.level
        return default_level

    def limit(self, item: str, class_code: str, level: str, default_level: str,
              catalogue: TimeLimit) -> TimeLimit:
        """The limit at ``level``, each in its own declared unit: the item's rule, the
        catalogue's (at the item's default level, in the item's unit), a class or default
        rule, else [limits]."""
        ranked = self.matching(item, class_code, level)
        for r in ranked:
            if r.item and level in r.time_limit_h:
                return TimeLimit(r.time_limit_h[level], r.time_limit_unit)
        if level == default_level:
            return catalogue
        for r in ranked:
            if level in r.time_limit_h:
                return TimeLimit(r.time_limit_h[level], r.time_limit_unit)
        return TimeLimit(self.limits.get(level, 72.0), self.limits_unit)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (for the API)."""
        return {
            "path": self.path, "departments": self.departments, "limits": self.limits,
            "limits_unit": self.limits_unit,
            "points": {"accepted_report": self.points_accepted},
            "patrol": {"patrols_per_day": self.patrols_per_day,
                       "unit_distance_m": self.unit_distance_m,
                       "unvisited_days": self.unvisited_days},
            "rules": [{"item": r.item, "class": r.class_code, "at_level": r.at_level,
                       "level": r.level, "departments": r.departments,
                       "time_limit_h": r.time_limit_h, "time_limit_unit": r.time_limit_unit}
                      for r in self.rules],
        }


def default_path() -> Path:
    """The rules shipped with Wangge, or WANGGE_DISPATCH_RULES_PATH."""
    env = os.environ.get("WANGGE_DISPATCH_RULES_PATH")
    if env:
        return Path(env)
    return _shipped()


@cache
def _shipped() -> Path:
    """The path of the rules shipped in the package."""
    return Path(str(resources.files("gis.data").joinpath("dispatch_rules.toml")))


def _level(value: Any, where: str) -> str | None:
    """A level name or None; anything else is an error naming the rule."""
    if value is None:
        return None
    if value not in LEVELS:
        raise InvalidInput(f"{where}: level must be one of {', '.join(LEVELS)}, got {value!r}",
                           code="bad_dispatch_rules")
    return value


def _unit(value: Any, where: str) -> str:
    """A time-limit unit; anything else is an error naming the rule."""
    if value not in UNITS:
        raise InvalidInput(f"{where}: time_limit_unit must be one of {', '.join(UNITS)} (h "
                           f"hours, wh working hours, wd working days), got {value!r}",
                           code="bad_dispatch_rules")
    return value


def parse(path: Path | None = None) -> Rules:
    """Read and check a rules file; errors name the rule at fault."""
    path = Path(path or default_path())
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InvalidInput(f"{path}: cannot read dispatch rules: {e}",
                           code="bad_dispatch_rules") from None
    departments = {str(k): str(v) for k, v in doc.get("departments", {}).items()}
    limits_doc = dict(doc.get("limits", {}))
    limits_unit = _unit(limits_doc.pop("unit", "h"), f"{path}: [limits]")
    limits = {k: float(v) for k, v in limits_doc.items()}
    for k in limits:
        _level(k, f"{path}: [limits]")
    rules = []
    for i, r in enumerate(doc.get("rule", [])):
        where = f"{path}: rule #{i + 1}"
        deps = r.get("departments")
        if deps is not None:
            unknown = [d for d in deps if d not in departments]
            if unknown:
                raise InvalidInput(f"{where}: unknown department {unknown[0]!r} (add it to "
                                   "[departments])", code="bad_dispatch_rules")
        tl = {}
        for lv, h in (r.get("time_limit_h") or {}).items():
            _level(lv, where)
            if not isinstance(h, int | float) or h <= 0:
                raise InvalidInput(f"{where}: time_limit_h.{lv} must be a positive number",
                                   code="bad_dispatch_rules")
            tl[lv] = float(h)
        rules.append(Rule(item=r.get("item"), class_code=r.get("class"),
                          at_level=_level(r.get("at_level"), where),
                          level=_level(r.get("level"), where),
                          departments=tuple(deps) if deps is not None else None,
                          time_limit_h=tl,
                          time_limit_unit=_unit(r.get("time_limit_unit", "h"), where)))
    pts = doc.get("points", {})
    patrol = doc.get("patrol", {})
    return Rules(departments, limits, tuple(rules), limits_unit,
                 points_accepted=int(pts.get("accepted_report", 10)),
                 patrols_per_day=int(patrol.get("patrols_per_day", 1)),
                 unit_distance_m=float(patrol.get("unit_distance_m", 30)),
                 unvisited_days=int(patrol.get("unvisited_days", 7)), path=str(path))


RECHECK_S = 1.0  # how often the file's time stamp is looked at (every report reads the rules)
_cache: dict[str, tuple[float, float, Rules]] = {}  # path: (mtime, looked at, rules)


def rules(path: Path | None = None) -> Rules:
    """The rules, re-read when the file changes (its time stamp looked at once a second)."""
    key, now = str(path or default_path()), time.monotonic()
    hit = _cache.get(key)
    if hit and now - hit[1] < RECHECK_S:
        return hit[2]
    p = Path(key)
    mtime = p.stat().st_mtime if p.exists() else 0.0
    r = hit[2] if hit and hit[0] == mtime else parse(p)
    _cache[key] = (mtime, now, r)
    return r


def check_departments(r: Rules, departments: list[str] | None) -> None:
    """Unknown department codes are an InvalidInput naming the code."""
    for d in departments or []:
        if d not in r.departments:
            raise InvalidInput.field("departments", f"unknown department {d!r}; one of "
                                     f"{', '.join(r.departments)}", "unknown_department")
