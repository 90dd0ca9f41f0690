"""The house: rooms use each other downward only, and no module imports itself back."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gis", "wangge", "boundaries", "etl", "dashboard")
BASE = ("errors", "settings", "clock", "safejson", "rulebook", "data", "calendar")
# Lower rank = lower floor. A room may import its own modules and rooms of a lower rank; two
# rooms of the same rank do not import each other.
RANK = {
    "gis.base": 0,
    "gis.geo": 1, "gis.db": 1, "gis.media": 1,
    "gis.access": 2,
    "gis.territory": 3,
    "gis.intake": 4,
    "gis.workflow": 5,
    "gis.oversight": 6, "gis.interop": 6,
    "gis.api": 7, "gis.cli": 7,
    "etl": 8,
    "boundaries": 9,  # re-cuts units with etl's unit drawing (boundaries.recut)
    "dashboard": 10,  # the planner's page runs boundaries' core, as the CLI and API do
    "wangge": 11,
}


def room(module: str) -> str:
    """The room a dotted module name lives in."""
    parts = module.split(".")
    if parts[0] != "gis":
        return parts[0]
    if len(parts) == 1 or parts[1] in BASE:
        return "gis.base"
    return "gis." + parts[1]


def modules() -> dict[str, Path]:
    """Every module of the project's packages by dotted name."""
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The project's modules one file imports (at the top or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    """Module → the project's modules it imports (packages' own __init__ left out)."""
    known = modules()
    return {m: {t for t in imports(p, known) if t != m and not m.startswith(t + ".")}
            for m, p in known.items()}


def test_every_room_has_a_rank() -> None:
    """A new room must be placed in the house before it is used."""
    assert {room(m) for m in modules()} <= set(RANK)


def test_rooms_use_each_other_downward_only() -> None:
    """No room imports one above it or beside it; gis imports no top-level package."""
    upward = sorted(
        f"{m} imports {t}" for m, targets in graph().items() for t in targets
        if room(t) != room(m) and RANK[room(t)] >= RANK[room(m)])
    assert upward == []


def test_no_import_cycles() -> None:
    """No module reaches itself through imports (inside functions too)."""
    g = graph()
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the path, 2 done
    cycles: list[list[str]] = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(g.get(m, ())):
            if state[t] == 1:
                cycles.append(path[path.index(t):] + [t])
            elif state[t] == 0:
                visit(t, path + [t])
        state[m] = 2

    for m in sorted(g):
        if state[m] == 0:
            visit(m, [m])
    assert [" -> ".join(c) for c in cycles] == []


def test_the_checks_catch_an_upward_import(tmp_path: Path) -> None:
    """The detector itself: an import from a lower room to a higher one is found."""
    f = tmp_path / "x.py"
    f.write_text("from gis.workflow import transitions\n")
    known = modules()
    assert "gis.workflow.transitions" in imports(f, known)
    assert RANK[room("gis.workflow.transitions")] > RANK[room("gis.territory.locator")]
