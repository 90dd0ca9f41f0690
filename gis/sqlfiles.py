"""Access to the ``.sql`` files shipped in ``gis/sql``."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def read_sql(name: str, package: str = "gis.sql") -> str:
    """Text of one SQL file."""
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")
