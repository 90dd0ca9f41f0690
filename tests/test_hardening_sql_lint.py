"""No bind parameter inside an SQL comment, in any SQL text the project runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from gis.db.queries import named
from gis.db.sqlfiles import strip_comments

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gis", "etl", "boundaries", "dashboard", "bench")
_COMMENT = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|(?P<tag>\$[A-Za-z_]*\$).*?(?P=tag)"""
    r"""|(?P<c>--[^\n]*|/\*.*?\*/)""",
    re.S,
)
# :name (SQLAlchemy), %(name)s / %s (psycopg2) — not the :: cast.
_BIND = re.compile(r"(?<![:\w]):[A-Za-z_]\w*|%\(\w+\)s|%s")


def binds_in_comments(sql: str) -> list[str]:
    """Each comment of ``sql`` that names a bind parameter."""
    return [m.group("c") for m in _COMMENT.finditer(sql)
            if m.group("c") and _BIND.search(m.group("c"))]


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


def test_a_commented_bind_is_not_injectable(engine) -> None:
    """A value with a newline and a statement, bound next to a comment, stays a value."""
    sql = strip_comments("SELECT CAST(:v AS text) -- :v is echoed\n")
    with engine.connect() as conn:
        got = conn.execute(text(sql), {"v": "x\nSELECT pg_sleep(5);--"}).scalar()
    assert got == "x\nSELECT pg_sleep(5);--"
