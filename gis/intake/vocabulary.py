"""The Chinese names of the event vocabulary for people at the desk, once.

Statuses, handling levels, sources and location statuses as the command centre reads them:
the dashboard's Chinese (dashboard.i18n) and the exports (gis.oversight.exports) take them
from here. A resident reads gentler words for the same statuses (gis.intake.resident).
"""

from __future__ import annotations

STATUS_ZH = {
    "reported": "已上报", "accepted": "已受理", "dispatched": "已派遣", "in_progress": "处置中",
    "resolved": "已处置", "closed": "已结案", "rejected": "不予受理", "duplicate": "重复",
    "reopened": "重新办理",
}
LEVEL_ZH = {"grid": "网格", "community": "社区", "street": "街道", "district": "区"}
SOURCE_ZH = {
    "worker": "网格员上报", "resident": "群众上报", "camera": "视频监控", "hotline": "12345热线",
    "department": "部门移交", "other": "其他",
}
LOCATION_ZH = {"inside": "网格内", "outside": "区外", "unassigned": "未落格"}


def zh(names: dict[str, str], code: str | None) -> str:
    """The Chinese name of ``code`` in ``names`` (the code itself when unnamed; '' for none)."""
    if code is None:
        return ""
    return names.get(code, code)
