"""China Standard Time (UTC+8) is defined once, in gis/clock.py; every other module imports it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gis", "wangge", "boundaries", "etl", "dashboard", "bench")
CLOCK = "gis/clock.py"
ZONE_CALLS = {"ZoneInfo", "timezone", "gettz", "FixedOffset", "tz_localize", "tz_convert"}
ZONE_TEXT = re.compile(r"Asia/(Shanghai|Chongqing|Harbin|Urumqi)|Etc/GMT-8|\bPRC\b|[+]08:?00\b")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (they may say "UTC+8"; they define nothing)."""
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            out.add(id(body[0].value))
    return out


def _call_name(node: ast.Call) -> str:
    """The called name: ``f(...)`` → f, ``x.f(...)`` → f."""
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def zone_definitions(source: str) -> list[str]:
    """Each place in ``source`` that makes a UTC+8 zone or names one (calls, literals)."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if name in ZONE_CALLS and args != ["UTC"] and not (name == "tz_convert" and
                                                               args == [None]):
                found.append(f"line {node.lineno}: {name}(...)")
            if name == "timedelta" and any(k.arg == "hours" and isinstance(k.value, ast.Constant)
                                           and k.value.value == 8 for k in node.keywords):
                found.append(f"line {node.lineno}: timedelta(hours=8)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docs and ZONE_TEXT.search(node.value):
            found.append(f"line {node.lineno}: {node.value[:60]!r}")
    return found


def test_the_detector_finds_every_way_of_making_the_zone() -> None:
    """The checker itself: zoneinfo, fixed offsets, pandas and SQL spellings; not docstrings."""
    assert zone_definitions('from zoneinfo import ZoneInfo\nCST = ZoneInfo("Asia/Shanghai")\n')
    assert zone_definitions("CST = timezone(timedelta(hours=8))\n")
    assert zone_definitions('t = t.tz_localize("Asia/Shanghai")\n')
    assert zone_definitions("sql = \"SELECT x AT TIME ZONE 'Asia/Shanghai'\"\n")
    assert zone_definitions('t = datetime.fromisoformat(s + "+08:00")\n')
    assert not zone_definitions('def f():\n    """Naive is UTC+8 (Asia/Shanghai)."""\n')
    assert not zone_definitions('t = t.tz_localize("UTC")\nx = datetime.now(UTC)\n')


def test_the_zone_is_defined_only_in_gis_clock() -> None:
    """No module but gis/clock.py defines or names UTC+8: they import gis.clock instead."""
    found = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            hits = zone_definitions(path.read_text(encoding="utf-8"))
            if hits:
                found[path.relative_to(ROOT).as_posix()] = hits
    assert CLOCK in found  # the scan sees the one definition
    assert {f: h for f, h in found.items() if f != CLOCK} == {}


def test_the_zone_is_china_standard_time() -> None:
    """The one zone is UTC+8 and every module that uses it holds that same object."""
    from datetime import datetime, timedelta

    from gis import clock
    from gis.api import schemas
    from gis.oversight import coverage

    assert clock.CST.utcoffset(datetime(2026, 7, 1)) == timedelta(hours=8)
    assert coverage.CST is schemas.CST is clock.CST
    assert clock.assume_cst(datetime(2026, 7, 1, 9)).utcoffset() == timedelta(hours=8)
