"""The validation report as people read it: problems grouped by check, errors first, counts per
check, consequences folded under their cause, slivers in one line."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import NotRequired, TypedDict

from boundaries.model import ERROR, INFO, REPAIRED, WARNING, ProblemDict, zh_en

SEVERITY_ORDER = (ERROR, WARNING, REPAIRED, INFO)
SEVERITY_ZH = {ERROR: "错误", WARNING: "警告", REPAIRED: "已修复", INFO: "提示"}
# checks that name the cause of other problems (those carry ``cause`` = "check:code")
CAUSES = ("renamed_code", "dropped_code", "unknown_parent_code", "recut_blocked")
MAX_ITEMS = 5
TITLES: dict[str, tuple[str, str]] = {
    "unreadable": ("文件无法读取", "unreadable file"),
    "empty_file": ("文件为空", "empty file"),
    "renamed_code": ("编码被改", "renamed code"),
    "dropped_code": ("上级被删去", "parent dropped by the file"),
    "unknown_parent_code": ("上级编码不存在", "unknown parent code"),
    "missing_parent": ("缺少上级", "missing parent"),
    "orphan": ("将失去上级", "would lose its parent"),
    "missing_level": ("缺少层级", "missing level"),
    "unknown_level": ("未知层级", "unknown level"),
    "missing_code": ("缺少编码", "missing code"),
    "bad_code": ("编码格式错误", "bad code"),
    "code_parent_mismatch": ("编码与上级不符", "code does not start with its parent's"),
    "code_level_conflict": ("编码已属于其他层级", "code already used at another level"),
    "duplicate_code": ("编码重复", "duplicate code"),
    "bad_kind": ("网格类型错误", "bad grid kind"),
    "no_geometry": ("没有几何", "no geometry"),
    "wrong_type": ("几何类型错误", "wrong geometry type"),
    "empty_geometry": ("几何为空", "empty geometry"),
    "out_of_range": ("坐标不是经纬度", "coordinates out of range"),
    "bad_ring": ("环有问题", "bad ring"),
    "invalid_geometry": ("几何无效", "invalid geometry"),
    "overlap": ("网格重叠", "grids overlap"),
    "unit_overlap": ("单元重叠", "units overlap"),
    "gap": ("网格间空隙", "gap between grids"),
    "grid_outside_community": ("网格超出社区", "grid outside its community"),
    "unit_outside_grid": ("单元超出网格", "unit outside its grid"),
    "recut_blocked": ("单元无法重新划分", "units cannot be re-cut"),
    "sliver": ("碎片面", "slivers"),
    "community_without_grids": ("社区没有网格", "community without grids"),
    "unit_without_building": ("单元没有楼栋", "unit without a building"),
    "unit_too_many_buildings": ("单元楼栋过多", "unit with too many buildings"),
    "building_without_unit": ("楼栋不在单元内", "building in no unit"),
    "buildings": ("楼栋检查", "building checks"),
}


class GroupItem(TypedDict):
    """One problem of a group, with the consequences folded under it (count per check)."""

    message: str
    code: NotRequired[str]
    consequences: NotRequired[dict[str, int]]


class ProblemGroup(TypedDict):
    """All problems of one check: severity, count, a title and the first few (or one line)."""

    check: str
    severity: str
    count: int
    title: str
    items: list[GroupItem]
    more: int
    summary: NotRequired[str]
    folded: NotRequired[int]


def title(check: str) -> str:
    """A check's name as people read it (Chinese first)."""
    zh, en = TITLES.get(check, (check, check))
    return zh_en(zh, en)


def _sliver_line(probs: list[ProblemDict]) -> str:
    """Every sliver in one line: how many, total and largest area, which boundaries."""
    areas = [p.get("area_m2", 0.0) for p in probs]
    codes = sorted({p["code"] for p in probs if p.get("code")})
    shown = "、".join(codes[:5]) + (f" 等 {len(codes)} 个" if len(codes) > 5 else "")
    total, big = sum(areas), max(areas, default=0.0)
    return zh_en(f"{len(probs)} 处碎片面，共 {total:.1f} m²，最大 {big:.2f} m²，在 {shown}",
                 f"{len(probs)} sliver parts, {total:.1f} m² in all, the largest {big:.2f} m², "
                 f"in {len(codes)} boundaries")


def _item(p: ProblemDict, folded: Counter) -> GroupItem:
    """One listed problem (with what it causes)."""
    it: GroupItem = {"message": p["message"]}
    if p.get("code"):
        it["code"] = p["code"]
    if folded:
        it["consequences"] = dict(folded.most_common())
    return it


def group_problems(problems: list[ProblemDict]) -> list[ProblemGroup]:
    """Problems grouped by check (errors first, then by count); consequences folded under
    their cause; slivers summarised in one line."""
    causes = {f"{p['check']}:{p.get('code')}" for p in problems if p["check"] in CAUSES}
    folded: dict[str, Counter] = defaultdict(Counter)
    by_check: dict[str, list[ProblemDict]] = defaultdict(list)
    for p in problems:
        if p.get("cause") in causes:
            folded[p["cause"]][p["check"]] += 1
        else:
            by_check[p["check"]].append(p)
    groups = []
    for check, probs in by_check.items():
        sev = min((p["severity"] for p in probs), key=_rank)
        g: ProblemGroup = {"check": check, "severity": sev, "count": len(probs),
                           "title": title(check), "items": [], "more": 0}
        if check == "sliver":
            g["summary"] = _sliver_line(probs)
        else:
            keys = [f"{p['check']}:{p.get('code')}" for p in probs]
            g["items"] = [_item(p, folded[k]) for p, k in zip(probs[:MAX_ITEMS], keys,
                                                                 strict=False)]
            g["more"] = max(0, len(probs) - MAX_ITEMS)
            n = sum(sum(folded[k].values()) for k in keys)
            if n:
                g["folded"] = n
        groups.append(g)
    groups.sort(key=lambda g: (_rank(g["severity"]), g["check"] not in CAUSES, -g["count"],
                               g["check"]))
    return groups


def _rank(severity: str) -> int:
    """Errors first."""
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def group_lines(groups: list[ProblemGroup]) -> list[str]:
    """The grouped problems as text lines."""
    lines = []
    for g in groups:
        head = f"  [{SEVERITY_ZH.get(g['severity'], g['severity'])} {g['severity']}] " \
               f"{g['title']} {g['check']} ×{g['count']}"
        if g.get("folded"):
            head += f"（导致另外 {g['folded']} 条问题 causing {g['folded']} more）"
        lines.append(head + (f": {g['summary']}" if g.get("summary") else ""))
        for it in g["items"]:
            cons = it.get("consequences") or {}
            tail = "".join(f"  ← {n} × {c}" for c, n in cons.items())
            lines.append(f"      {it['message']}{tail}")
        if g["more"]:
            lines.append(f"      … 另有 {g['more']} 条 (and {g['more']} more, all in the JSON "
                         "report)")
    return lines
