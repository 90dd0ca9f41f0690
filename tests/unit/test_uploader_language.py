"""Every file uploader of the desk goes through ``dashboard.ui.file_uploader`` (Streamlit has no
locale: its dropzone's English is replaced by CSS there, once)."""

from __future__ import annotations

import re
from pathlib import Path

from dashboard import ui

DASH = Path(__file__).resolve().parents[2] / "dashboard"


def test_no_page_calls_streamlits_uploader_itself() -> None:
    """``st.file_uploader`` is called in dashboard/ui.py only."""
    found = [str(p.relative_to(DASH)) for p in DASH.rglob("*.py")
             if p.name != "ui.py" and re.search(r"\bst\.file_uploader\(", p.read_text("utf-8"))]
    assert found == []


def test_the_dropzone_css_hides_the_english_and_shows_the_catalogue_text() -> None:
    """The uploader's own key scopes the rules; quotes in a text are escaped for CSS."""
    css = ui._dropzone_css("pl_file_0", "选择文件", '拖放 "文件" · 不超过 47 MB', "松开")
    assert css.startswith("<style>") and css.endswith("</style>")
    assert '[data-testid="stFileUploaderDropzoneInstructions"] span{display:none}' in css
    rules = css.removeprefix("<style>").split("}")[:-1]
    assert len(rules) == 6 and all(r.startswith(".st-key-pl_file_0 ") for r in rules)
    assert 'content:"拖放 \\"文件\\" · 不超过 47 MB"' in css
    assert 'content:"选择文件"' in css and 'content:"松开"' in css
