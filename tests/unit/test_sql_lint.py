"""No bind parameter inside an SQL comment, in any SQL text the project runs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from support.sqllint import _COMMENT, binds_in_comments

from gis.db.queries import named

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gis", "etl", "boundaries", "dashboard", "bench")
def sql_files() -> list[Path]:
    """Every .sql file shipped in the project's packages."""
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.sql"))


def python_strings() -> list[tuple[str, int, str]]:
    """(file, line, text) of every string literal (f-strings too) in the project's code."""
    out = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    out.append((str(path.relative_to(ROOT)), node.lineno, node.value))
    return out


def test_detector_finds_a_bind_in_a_comment() -> None:
    """The checker itself: catches the injectable form, ignores casts and literals."""
    assert binds_in_comments("SELECT 1 -- :department limits\nFROM t")
    assert binds_in_comments("SELECT 1 /* %(x)s */")
    assert not binds_in_comments("SELECT a::text, '-- :x' FROM t WHERE b = :b -- plain")
    assert not binds_in_comments("SELECT $$ -- :x $$")


@pytest.mark.parametrize("path", sql_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_sql_files_have_no_bind_in_a_comment(path: Path) -> None:
    """Every .sql file: comments name parameters as @name, never :name."""
    assert binds_in_comments(path.read_text(encoding="utf-8")) == []


def test_inline_sql_has_no_bind_in_a_comment() -> None:
    """Every string literal in the code (inline text(), exec_driver_sql, cursors)."""
    bad = [f"{f}:{line}: {c}" for f, line, s in python_strings() for c in binds_in_comments(s)]
    assert bad == []


def test_named_statements_reach_the_driver_without_comments() -> None:
    """Belt and braces: the statements gis.db.queries hands out carry no comment at all."""
    files = [(p.name, p.parent.relative_to(ROOT).as_posix().replace("/", "."))
             for p in sql_files() if "-- name:" in p.read_text(encoding="utf-8")]
    assert files
    for name, package in files:
        for stmt in named(name, package).values():
            assert not [m for m in _COMMENT.finditer(stmt.text) if m.group("c")], name
