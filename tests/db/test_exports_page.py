"""AppTest of the exports page (导出) and the assessment download of the grids page: the
download buttons' files parse (openpyxl, csv with a BOM), hold the logged-in person's events
only, and follow the sidebar's filters."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from support.workflow import CENTRE, G1, G2, G_OTHER_STREET, clear_workflow, report

from gis.access.auth import create_token
from gis.territory.locator import Locator
from gis.workflow import transitions as workflow

PAGES = Path(__file__).resolve().parents[2] / "dashboard" / "pages"
COMMUNITY = "320508001001"


@pytest.fixture()
def files(monkeypatch) -> dict[str, bytes]:
    """The bytes of every file a page hands to a download button, by its file name."""
    got: dict[str, bytes] = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        """Remember the file, then store it as Streamlit would."""
        if filename:
            got[filename] = path_or_data
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return got


@pytest.fixture()
def page_env(settings, demo_district, engine, owner_engine, monkeypatch):
    """The pages' database is the test database; no workflow rows."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    clear_workflow(owner_engine)
    import streamlit as st

    st.cache_data.clear()
    return Locator(engine)


def _page(engine, name: str, role: str, area: str | None) -> AppTest:
    """A page logged in with a token of ``role``."""
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    at.session_state["wg_token"] = create_token(engine, role, area, name="ex")["token"]
    return at


def _one(files: dict[str, bytes], pattern: str) -> bytes:
    """The only file whose name matches ``pattern``."""
    names = [n for n in files if re.fullmatch(pattern, n)]
    assert len(names) == 1, list(files)
    return files[names[0]]


def _xlsx_ids(content: bytes) -> list[int]:
    """事件编号 of an events workbook (its header checked)."""
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:4] == ("事件编号", "事项", "事项类别", "状态")
    return [r[0] for r in rows[1:]]


def test_exports_page_hands_out_the_dispatchers_events(page_env, engine, files):
    """A community dispatcher's buttons: xlsx and csv of its two events, not the other
    street's; a status filter narrows both; the assessment's files parse too."""
    a = report(engine, page_env, "safety.fire", G1)
    b = report(engine, page_env, "health.sanitation", G2)
    report(engine, page_env, "safety.fire", G_OTHER_STREET)
    workflow.transition(engine, b, "accept", CENTRE)
    at = _page(engine, "exports.py", "community_dispatcher", COMMUNITY).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "导出"
    assert {d.key for d in at.download_button} == {"ex_events_xlsx", "ex_events_csv",
                                                   "ex_assessment_xlsx", "ex_assessment_csv"}
    assert _xlsx_ids(_one(files, r"事件导出-\d{8}-\d{4}\.xlsx")) == [a, b]
    raw = _one(files, r"事件导出-\d{8}-\d{4}\.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "事件编号" and [int(r[0]) for r in rows[1:]] == [a, b]
    assert [r[3] for r in rows[1:]] == ["已上报", "已受理"]
    kaohe = _one(files, rf"考核指标-{COMMUNITY}-\d{{4}}-\d{{2}}\.xlsx")
    head = next(openpyxl.load_workbook(io.BytesIO(kaohe)).active.iter_rows(values_only=True))
    assert head[:5] == ("考核月份", "考核对象", "编码", "名称", "立案数")
    files.clear()
    at.multiselect(key="ex_statuses").set_value(["accepted"]).run()
    assert not at.exception, at.exception
    assert _xlsx_ids(_one(files, r"事件导出-\d{8}-\d{4}\.xlsx")) == [b]


def test_grids_page_offers_the_assessment(page_env, engine, files):
    """The grids & workers page: the month's assessment as xlsx and csv for the centre."""
    report(engine, page_env, "safety.fire", G1)
    at = _page(engine, "grids_workers.py", "district_centre", None).run()
    assert not at.exception, at.exception
    raw = _one(files, r"考核指标-\d{4}-\d{2}\.csv")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert raw.startswith(b"\xef\xbb\xbf") and rows[0][1] == "考核对象"
    _one(files, r"考核指标-\d{4}-\d{2}\.xlsx")


def test_english_switch_and_catalogue(page_env, engine, files):
    """In English the page's labels are the message ids; every id has its Chinese."""
    from dashboard import exports as ex
    from dashboard import i18n

    at = _page(engine, "exports.py", "district_centre", None)
    at.session_state["wg_lang"] = "en"
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Exports"
    src = "".join(p.read_text(encoding="utf-8") for p in (
        PAGES / "exports.py", PAGES.parent / "exports.py"))
    ids = set(re.findall(r'\bt\("([^"]+)"', src)) | set(ex.LABELS.values())
    ids |= set(ex.REFUSALS.values()) | {"Download the assessment", ex.ASSESSMENT_NOTE}
    missing = ids - set(i18n.messages("exports"))
    assert not missing, missing
