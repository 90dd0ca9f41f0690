"""Optional parts (boundaries, etl, workflow) mounted only when their package is present."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_optional(module: str) -> ModuleType | None:
    """Import ``module``; None when it (or its package) is not installed, errors otherwise."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            return None
        raise
