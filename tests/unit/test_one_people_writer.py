"""One writer of workers and roles: only gis.territory.people writes worker and grid_role."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gis", "etl", "boundaries", "dashboard", "wangge", "bench")
WRITER = {"gis/territory/people.py", "gis/territory/sql/people.sql"}
_WRITE = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO|COPY"
    r"|TRUNCATE(?:\s+TABLE)?(?:\s+(?:ONLY\s+)?[\w.]+\s*,)*)"
    r"\s+(?:ONLY\s+)?(?:\w+\.)?\"?(worker|grid_role)\"?(?!\w)",
    re.I,
)


def writes(sql: str) -> list[str]:
    """The worker / grid_role writes (INSERT, UPDATE, DELETE, MERGE, COPY, TRUNCATE) in ``sql``."""
    return [m.group(0) for m in _WRITE.finditer(sql)]


def texts() -> list[tuple[str, str]]:
    """(file, text) of every .sql file and every Python string literal of the project's code."""
    out = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.sql")):
            out.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    out.append((rel, node.value))
    return out


def test_detector_finds_writes_of_workers_and_roles() -> None:
    """The checker itself: every form of write, and not the look-alikes."""
    for sql in ("INSERT INTO worker (code) VALUES (1)", "insert into public.grid_role VALUES",
                "UPDATE grid_role SET valid_to = now()", "update worker w set name = 'x'",
                "DELETE FROM grid_role WHERE id = 1", "COPY worker FROM STDIN",
                "TRUNCATE area, grid_role CASCADE", "INSERT INTO worker AS w (code)",
                'UPDATE ONLY "worker" SET active = false'):
        assert writes(sql), sql
    for sql in ("UPDATE event SET worker_id = 1", "INSERT INTO worker_log VALUES (1)",
                "SELECT * FROM grid_role", "CREATE TRIGGER t AFTER INSERT OR UPDATE OR DELETE "
                "OR TRUNCATE ON grid_role", "DELETE FROM event WHERE worker_id = 1"):
        assert not writes(sql), sql


def test_only_people_writes_workers_and_roles() -> None:
    """No module but gis/territory/people.py (and its people.sql) writes worker or grid_role."""
    found = [(f, w) for f, t in texts() for w in writes(t)]
    assert [(f, w) for f, w in found if f not in WRITER] == []
    assert "gis/territory/sql/people.sql" in {f for f, _w in found}  # the writer is still here
