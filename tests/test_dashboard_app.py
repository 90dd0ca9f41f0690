"""Streamlit AppTest of every dashboard page, with data, empty and unreachable database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_dashboard_queries import _seed

DASH = Path(__file__).resolve().parent.parent / "dashboard"


@pytest.fixture()
def db_env(settings, monkeypatch):
    """DATABASE_URL of the test database for the app under test."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    from dashboard import data

    for fn in (data.extent, data.filter_options, data.grids):
        fn.clear()
    import streamlit as st

    st.cache_data.clear()
    return settings


def _text(at: AppTest) -> str:
    """All markdown / info / error / metric text of a run."""
    parts = [m.value for m in at.markdown] + [e.value for e in at.info]
    parts += [e.value for e in at.error] + [f"{m.label}={m.value}" for m in at.metric]
    parts += [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


def test_live_map_page(db_env, demo_district, engine) -> None:
    """The entry point opens on the live map with metrics and no exception."""
    _seed(engine)
    at = AppTest.from_file(str(DASH / "app.py"), default_timeout=30).run()
    assert not at.exception, at.exception
    txt = _text(at)
    assert "Events=3" in txt and "Overdue=1" in txt
    assert at.sidebar.selectbox(key="live_window").value == "last 7 days"


def test_grids_workers_page(db_env, demo_district, engine) -> None:
    """Per grid and per worker tables."""
    _seed(engine)
    at = AppTest.from_file(str(DASH / "pages" / "grids_workers.py"), default_timeout=30).run()
    assert not at.exception, at.exception
    assert "Grids=32" in _text(at)
    assert len(at.dataframe) >= 2


def test_empty_state(db_env, clean_db) -> None:
    """No district: the page says how to load one."""
    for page in (DASH / "app.py", DASH / "pages" / "grids_workers.py"):
        at = AppTest.from_file(str(page), default_timeout=30).run()
        assert not at.exception
        assert "wangge demo" in _text(at)


def test_database_unreachable(monkeypatch) -> None:
    """An unreachable database is reported without a traceback."""
    url = "postgresql://wangge@127.0.0.1:9/nowhere"
    monkeypatch.setenv("WANGGE_DATABASE_URL", url)
    monkeypatch.setenv("DATABASE_URL", url)
    for page in (DASH / "app.py", DASH / "pages" / "grids_workers.py"):
        at = AppTest.from_file(str(page), default_timeout=30).run()
        assert not at.exception
        assert at.error and "Database unreachable" in at.error[0].value
