"""Access to the ``.sql`` files shipped in the rooms' ``sql`` folders; stripping comments."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

# A quoted literal, identifier or dollar-quoted body (kept as is), or a comment (removed).
_TOKENS = re.compile(
    r"""(?P<keep>'(?:[^']|'')*'|"(?:[^"]|"")*"|(?P<tag>\$[A-Za-z_]*\$).*?(?P=tag))"""
    r"""|(?P<line>--[^\n]*)|(?P<block>/\*.*?\*/)""",
    re.S,
)


def strip_comments(sql: str) -> str:
    """SQL text without ``--`` and ``/* */`` comments (literals untouched).

    A bind parameter written inside a comment would still be bound by SQLAlchemy and pasted
    into the comment by psycopg2, where a newline in the value ends the comment: comments
    never reach the driver.
    """
    return _TOKENS.sub(lambda m: m.group("keep") or ("" if m.group("line") else " "), sql)


@cache
def read_sql(name: str, package: str) -> str:
    """Text of one SQL file."""
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")
