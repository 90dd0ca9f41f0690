"""The alert banner (dashboard/alerts.py) in a Streamlit AppTest: a new alert shows for the
street dispatcher of its street, not for another street's; the beep is a real WAV."""

from __future__ import annotations

import io
import wave

import pytest
from streamlit.testing.v1 import AppTest
from support.workflow import G1, clear_workflow, report

from gis.territory.locator import Locator

SCRIPT = """
from dashboard import alerts
from gis.access.auth import Principal
import streamlit as st

alerts.watch(Principal("street_dispatcher", areas=(st.session_state["street"],), name="s"))
"""


@pytest.fixture()
def db_env(settings, monkeypatch, demo_district, owner_engine):
    """DATABASE_URL of the test database for the app under test; the workflow emptied."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    clear_workflow(owner_engine)
    return settings


def _page(street: str) -> AppTest:
    """The watcher as a street dispatcher of ``street``, opened (first run done)."""
    at = AppTest.from_string(SCRIPT, default_timeout=30)
    at.session_state["street"] = street
    at.run()
    assert not at.exception
    return at


def _banners(at: AppTest) -> list[str]:
    """Texts of the error and warning banners of the last run."""
    return [e.value for e in at.error] + [w.value for w in at.warning]


def test_new_alert_shows_for_its_street_only(db_env, engine):
    """Opened before the report: a banner + toast for 320508001, none for 320508002."""
    report(engine, Locator(engine), "crime.fraud", G1)  # before the page: not shown
    mine, other = _page("320508001"), _page("320508002")
    assert _banners(mine) == []
    eid = report(engine, Locator(engine), "crime.theft", G1)
    mine.run()
    other.run()
    assert not mine.exception and not other.exception
    got = _banners(mine)
    assert len(got) == 1 and f"事件 #{eid}" in got[0] and "盗窃" in got[0]
    assert "新的高等级事件" in got[0] and "街道级办理" in got[0]
    assert [x.value for x in mine.toast] == got
    assert _banners(other) == [] and len(other.toast) == 0
    mine.run()
    assert _banners(mine) == got and len(mine.toast) == 0  # kept, not toasted again


def test_kept_banners_follow_the_language_switch(db_env, engine):
    """A banner shown in Chinese reads in English after the switch (worded on every run)."""
    mine = _page("320508001")
    eid = report(engine, Locator(engine), "crime.theft", G1)
    mine.run()
    assert "盗窃" in _banners(mine)[0]
    mine.session_state["wg_lang"] = "en"
    mine.run()
    got = _banners(mine)
    assert len(got) == 1 and f"(event #{eid})" in got[0], got
    assert "Theft or burglary" in got[0] and "street level" in got[0], got


def test_beep_is_a_short_wav():
    """The beep is a mono 16-bit WAV of about a third of a second."""
    from dashboard.alerts import beep

    with wave.open(io.BytesIO(beep()), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        assert 0.2 < w.getnframes() / w.getframerate() < 1.0
