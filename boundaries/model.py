"""Shared types: a boundary feature read from a file, a validation problem, an unreadable file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

from shapely.geometry.base import BaseGeometry

ERROR, WARNING, REPAIRED, INFO = "error", "warning", "repaired", "info"
LEVEL_ZH = {"district": "区", "street": "街道", "community": "社区", "grid": "网格",
            "unit": "单元"}


def zh_en(zh: str, en: str) -> str:
    """A message as people read it: Chinese first, then the English in brackets."""
    return f"{zh} ({en})"


def level_zh(level: str | None) -> str:
    """A level's Chinese name (the level itself when unknown)."""
    return LEVEL_ZH.get(level or "", level or "?")


class UnreadableFile(Exception):
    """The file cannot be read at all (exit code 2)."""


@dataclass
class Feature:
    """One boundary from the file: mapped attributes and a WGS84 geometry."""

    index: int
    level: str | None
    code: str | None
    name: str
    parent_code: str | None
    kind: str
    geom: BaseGeometry | None
    geom_type: str | None = None
    ring_problems: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        """How the report names this feature."""
        return f"{self.level or '?'} {self.code or '(no code)'} (feature #{self.index + 1})"

    def label_zh(self) -> str:
        """How the report names this feature, in Chinese."""
        return f"{level_zh(self.level)} {self.code or '（无编码）'}（第 {self.index + 1} 个要素）"


class ProblemDict(TypedDict):
    """JSON form of a ``Problem`` (optional keys only when set)."""

    check: str
    severity: str
    message: str
    level: NotRequired[str]
    code: NotRequired[str]
    feature: NotRequired[int]
    lon: NotRequired[float]
    lat: NotRequired[float]
    repair: NotRequired[dict[str, Any]]
    area_m2: NotRequired[float]
    others: NotRequired[list[str]]
    cause: NotRequired[str]


@dataclass
class Problem:
    """One finding of the validation report."""

    check: str
    severity: str
    message: str
    level: str | None = None
    code: str | None = None
    feature: int | None = None
    geom: BaseGeometry | None = None
    area_m2: float | None = None
    lon: float | None = None
    lat: float | None = None
    repair: dict[str, Any] | None = None
    repair_geom: BaseGeometry | None = None
    others: list[str] = field(default_factory=list)
    cause: str | None = None  # the key (``check:code``) of the problem this one follows from

    @property
    def key(self) -> str:
        """How consequences name this problem as their cause."""
        return f"{self.check}:{self.code}"

    def to_dict(self) -> ProblemDict:
        """JSON form (without geometries)."""
        d: Any = {"check": self.check, "severity": self.severity, "message": self.message}
        for k in ("level", "code", "feature", "lon", "lat", "repair"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        if self.area_m2 is not None:
            d["area_m2"] = round(self.area_m2, 2)
        if self.others:
            d["others"] = self.others
        if self.cause:
            d["cause"] = self.cause
        return d
