"""Fixtures of the command-line tests."""

from __future__ import annotations

import pytest
import support.territory as T
from typer.testing import CliRunner

from wangge.cli import app


@pytest.fixture()
def cli(settings, clean_db, monkeypatch):
    """A CliRunner whose DATABASE_URL is the test database (hand territory and people)."""
    T.load(clean_db)
    T.load_people(clean_db)
    monkeypatch.delenv("WANGGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, [str(a) for a in args])

    return run
