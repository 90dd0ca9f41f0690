"""Values crossing a room's boundary have names: no public domain function returns an
anonymous ``dict[str, Any]``, a list of them, or an unnamed tuple of several values."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("gis/access", "gis/territory", "gis/intake", "gis/workflow", "gis/oversight",
         "boundaries", "etl")
# Public functions whose return may stay unnamed, each with the reason (keep it short).
ALLOWED: dict[str, str] = {}


def _name(node: ast.expr) -> str:
    """The last part of a (possibly dotted) name: ``typing.Dict`` → ``Dict``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def unnamed(node: ast.expr | None) -> str | None:
    """Why an annotation is an anonymous value (None: it is named, or a plain scalar/map)."""
    if node is None:
        return "no return annotation"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return unnamed(ast.parse(node.value, mode="eval").body)
    if isinstance(node, ast.BinOp):  # X | Y
        return unnamed(node.left) or unnamed(node.right)
    if isinstance(node, (ast.Name, ast.Attribute)):
        return f"a bare {_name(node)}" if _name(node) in ("dict", "Dict", "tuple",
                                                            "Tuple") else None
    if not isinstance(node, ast.Subscript):
        return None
    base = _name(node.value)
    args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    if base in ("dict", "Dict", "Mapping", "MutableMapping") and len(args) == 2:
        if _name(args[1]) in ("Any", "object"):
            return f"{ast.unparse(node)} (name it: a TypedDict or a dataclass)"
    if base in ("tuple", "Tuple") and len(args) > 1:
        homogeneous = len(args) == 2 and isinstance(args[1], ast.Constant) \
            and args[1].value is Ellipsis
        if not homogeneous:
            return f"{ast.unparse(node)} (name it: a NamedTuple)"
    for a in args:
        why = unnamed(a)
        if why:
            return why
    return None


def public_functions(tree: ast.Module) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Module-level functions and methods of module-level classes, without a leading ``_``."""
    out: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append((node.name, node))
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            out += [(f"{node.name}.{m.name}", m) for m in node.body
                    if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return [(n, f) for n, f in out if not n.rsplit(".", 1)[-1].startswith("_")]


def anonymous_in(source: str, path: str) -> dict[str, str]:
    """``path::name`` → reason, for each public function of ``source`` returning no name."""
    out: dict[str, str] = {}
    for name, fn in public_functions(ast.parse(source)):
        why = unnamed(fn.returns)
        if why:
            out[f"{path}::{name}"] = why
    return out


def anonymous_returns() -> dict[str, str]:
    """Every public function in the domain rooms whose return has no name."""
    out: dict[str, str] = {}
    for room in ROOMS:
        for file in sorted((ROOT / room).rglob("*.py")):
            rel = file.relative_to(ROOT).as_posix()
            out.update(anonymous_in(file.read_text(encoding="utf-8"), rel))
    return out


def test_the_check_tells_named_returns_from_anonymous_ones() -> None:
    """The checker itself: dicts of Any, lists of them, unnamed tuples and missing annotations
    are reported; TypedDicts, NamedTuples, scalars, typed maps and private names are not."""
    src = (
        "def a() -> dict[str, Any]: ...\n"
        "def b() -> list[dict[str, Any]]: ...\n"
        "def c() -> tuple[int, float] | None: ...\n"
        "def d(): ...\n"
        "def e() -> 'Optional[Dict[str, object]]': ...\n"
        "def f() -> dict: ...\n"
        "class K:\n    def m(self) -> tuple[int, int]: ...\n    def _p(self) -> dict: ...\n"
        "def ok1() -> GridDetail: ...\n"
        "def ok2() -> list[EventRow] | None: ...\n"
        "def ok3() -> dict[str, int]: ...\n"
        "def ok4() -> tuple[str, ...]: ...\n"
        "def ok5() -> None: ...\n"
        "def _private() -> dict[str, Any]: ...\n"
        "class _Hidden:\n    def m(self) -> dict[str, Any]: ...\n"
    )
    found = anonymous_in(src, "m.py")
    assert set(found) == {"m.py::a", "m.py::b", "m.py::c", "m.py::d", "m.py::e", "m.py::f",
                          "m.py::K.m"}


def test_public_domain_functions_return_named_values() -> None:
    """Every public function of access, territory, intake, workflow, oversight, boundaries and
    etl returns a named type (a TypedDict, dataclass or NamedTuple), a scalar, or a typed
    collection."""
    bad = {k: why for k, why in anonymous_returns().items() if k not in ALLOWED}
    assert bad == {}, f"name these returns: {bad}"


def test_the_allow_list_only_holds_anonymous_returns() -> None:
    """An entry whose return was named (or whose function went) leaves the allow-list."""
    stale = sorted(set(ALLOWED) - set(anonymous_returns()))
    assert stale == [], f"remove from ALLOWED: {stale}"
