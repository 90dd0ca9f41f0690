"""Finding bind parameters inside SQL comments."""

from __future__ import annotations

import re

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
