"""Unit tests: pure code, no database (asking for one is an error)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def settings():
    """Unit tests run without a database."""
    raise pytest.UsageError("tests/unit use no database: move this test to tests/db")
