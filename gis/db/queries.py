"""Named SQL queries (``-- name: x`` blocks) from the ``sql`` folder of the room that runs them."""

from __future__ import annotations

import re
from functools import cache

from sqlalchemy import TextClause, text

from gis.db.sqlfiles import read_sql, strip_comments

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.M)


@cache
def named(file: str, package: str) -> dict[str, TextClause]:
    """All named statements of one SQL file, comments removed, as SQLAlchemy ``text`` clauses."""
    src = read_sql(file, package)
    parts = _NAME.split(src)
    out: dict[str, TextClause] = {}
    for i in range(1, len(parts), 2):
        out[parts[i]] = text(strip_comments(parts[i + 1]).strip().rstrip(";"))
    return out


def q(file: str, name: str, package: str) -> TextClause:
    """One named statement."""
    try:
        return named(file, package)[name]
    except KeyError:
        raise KeyError(f"no query {name!r} in {package}/{file}") from None
