"""Every text the live map shows (layer names, tooltips, legends) in Chinese by default,
English by the switch, from the mapview catalogue."""

from __future__ import annotations

import ast
import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard import i18n, mapview

SRC = Path(mapview.__file__)
GRID = {"code": "320508001001", "name": "一网格", "community_name": "一社区",
        "geometry": {"type": "Polygon", "coordinates": [[[120.5, 31.2], [120.7, 31.2],
                                                         [120.7, 31.4], [120.5, 31.2]]]}}
EVENT = {"id": 7, "item_code": "safety.fire", "item_name": "Fire hazard",
         "item_name_zh": "消防隐患", "status": "reported", "overdue": True, "source": "worker",
         "reported_at": datetime(2026, 12, 4, 17, 30, tzinfo=UTC), "grid_code": "g",
         "unit_code": "u", "description": "", "lon": 120.6, "lat": 31.3}
CAMERA = {"code": "C9", "name": "东门", "kind": "dome", "status": "offline",
          "direction_deg": 90.0, "lon": 120.61, "lat": 31.3, "distance_m": 42.0}


def _view() -> mapview.MapView:
    """A map with every layer of mapview."""
    return mapview.MapView(
        (31.3, 120.6), 14, grids=[GRID], units=[{"code": "u", "name": "u",
                                                 "geometry": GRID["geometry"]}],
        bins={"cellx": 0.01, "celly": 0.01, "total": 5, "bins": [
            {"minlon": 120.6, "minlat": 31.3, "maxlon": 120.61, "maxlat": 31.31, "n": 5,
             "open": 1}]},
        events=[EVENT], selected=EVENT, near=[CAMERA],
        coverage={"320508001001": {"units": 2, "covered": 1, "share": 0.5}},
        cameras={"mode": "clusters", "total": 7, "offline": 2, "cameras": [], "clusters": [
            {"lon": 120.6, "lat": 31.3, "n": 7, "offline": 2, "code": "C1"}]},
        tracks=[{"worker_name": "王五", "worker_code": "W1", "length_m": 1200.0,
                 "started_at": datetime(2026, 12, 4, 17, 0, tzinfo=UTC),
                 "ended_at": datetime(2026, 12, 4, 17, 45, tzinfo=UTC),
                 "geometry": {"type": "LineString", "coordinates": [[120.6, 31.3],
                                                                    [120.61, 31.31]]}}])


def _render(lang: str, view: mapview.MapView | None = None) -> str:
    """The map's HTML in ``lang`` (Chinese text unescaped from folium's JSON)."""
    tok = i18n._FIXED.set(lang)
    try:
        m = mapview.build_map(view or _view())
        out = m.get_root().render()
    finally:
        i18n._FIXED.reset(tok)
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda x: chr(int(x.group(1), 16)), out)


@pytest.mark.parametrize("text", [
    "网格", "最小单元", "事件热力（服务端分格）", "摄像头（7，聚合）", "事件（1）",
    "选中事件及附近摄像头", "今日巡查轨迹（1）", "每格事件数", "巡查覆盖", "责任人", "社区",
    "7 个摄像头，2 个离线", "点击放大", "消防隐患", "已上报", "超期", "北京时间",
    "12-05 01:30", "01:00–01:45", "摄像头 C9 东门 · 离线 · 42 米", "已选 #7", "网格员",
    "事件数", "未结", "已巡查单元", "zoomInTitle: \"放大\"", "zoomOutTitle: \"缩小\"",
    "imperial: false"])
def test_chinese_by_default(text: str) -> None:
    """Layer names, tooltips and legends in Chinese, times in 北京时间."""
    assert text in _render("zh")


def test_no_english_left_in_chinese() -> None:
    """None of the English texts shows on the Chinese map."""
    html = _render("zh")
    for text in ("Events per bin", "Patrol coverage", "nobody assigned", "click to zoom in",
                 "Cameras (", "Events (", "Today's patrol", "status:", "cameras, ",
                 "Selected event", "log scale"):
        assert f'"{text}' not in html and f">{text}" not in html and f" {text}" not in html


def test_event_description_only_when_there_is_one() -> None:
    """An event's description on its own line; none: no empty line."""
    assert "<br><br><i>点击" not in _render("zh")
    described = dataclasses.replace(_view(), events=[EVENT | {"description": "楼道堆物"}])
    assert "单元 u<br>楼道堆物<br><i>点击" in _render("zh", described)


def test_english_by_the_switch() -> None:
    """The same map in English."""
    html = _render("en")
    for text in ("Grids", "Event heat (server bins)", "Cameras (7, clustered)", "Events (1)",
                 "Events per bin", "7 cameras, 2 offline", "click to zoom in", "Fire hazard",
                 "China Standard Time", "patrol coverage", "Zoom in",
                 "camera C9 东门 · offline · 42 m"):
        assert text in html, text
    assert "网格" not in html.replace("一网格", "")


def test_every_map_text_has_its_chinese() -> None:
    """Every message id of mapview.py (and every coded value it shows) is in mapview.po."""
    ids = {n.args[0].value for n in ast.walk(ast.parse(SRC.read_text(encoding="utf-8")))
           if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "t"
           and n.args and isinstance(n.args[0], ast.Constant)}
    ids |= {f"camera_kind:{k}" for k in ("fixed", "ptz", "dome", "ai", "other")}
    ids |= {f"camera_status:{k}" for k in ("online", "offline", "fault", "unknown")}
    ids |= {f"source:{k}" for k in ("worker", "resident", "camera", "hotline", "department",
                                    "other")}
    ids |= {f"field:{k}" for k in ("grid", "name", "community", "responsible",
                                   "patrol coverage", "units passed", "events", "open")}
    assert len(ids) > 40
    missing = ids - set(i18n.messages("mapview"))
    assert not missing, missing
