"""Response models of /api/v1/boundaries (see ``gis.api.answers`` for the conventions)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gis.api.answers import KEEP_KEYS, Answer, Geometry
from gis.territory import activation as act


class Generation(Answer):
    """A boundary generation with its status, size and open events (times as text). Not the
    domain's ``GenerationRow``: the route gives its times as ``str()`` text, not ISO times."""

    id: int
    status: str
    created_at: str | None
    activated_at: str | None
    description: str | None
    source: str | None
    communities: int
    grids: int
    units: int
    open_events: int


class BoundaryProperties(Answer):
    """Properties of an exported boundary (``kind`` only for grids that have one)."""

    code: str
    name: str | None
    parent_code: str | None
    level: str
    kind: str | None = None


class BoundaryFeature(Answer):
    """One exported boundary."""

    type: str
    properties: BoundaryProperties
    geometry: Geometry | None


class BoundaryCollection(Answer):
    """A generation's boundaries as a GeoJSON FeatureCollection."""

    type: str
    name: str
    generation: int
    status: str
    features: list[BoundaryFeature]


class Rollback(act.RollbackResult):
    """What a rollback did (or would do, ``committed`` false): the domain's
    ``RollbackResult`` and whether it was committed (the body of POST /rollback)."""

    __pydantic_config__ = KEEP_KEYS
    committed: bool


class Problem(Answer):
    """One problem of a boundary file (blocking when ``severity`` is error); ``cause`` names
    the problem it follows from (``check:code``), as the groups fold it."""

    check: str
    severity: str
    message: str
    code: str | None = None
    cause: str | None = None


class GroupItem(Answer):
    """One problem of a group, with the problems it causes counted per check."""

    message: str
    code: str | None = None
    consequences: dict[str, int] | None = None


class ProblemGroup(Answer):
    """All problems of one check: errors first, the count, the first few or one line."""

    check: str
    severity: str
    count: int
    title: str = Field(description="the check's name, Chinese first")
    items: list[GroupItem] = Field(description="the first few (all in ``problems``)")
    more: int = Field(description="how many more than listed")
    summary: str | None = Field(None, description="one line for the whole check (slivers)")
    folded: int | None = Field(None, description="consequences folded under these causes")


class RecutUnit(Answer):
    """A unit re-cut along a moved grid boundary: kept code, new, or retired."""

    code: str
    grid: str
    change: str
    buildings: int


class Recut(Answer):
    """Units re-cut because their grids moved (the file's units did not, or it has none)."""

    grids: list[str]
    units: list[RecutUnit]
    counts: dict[str, int]
    streets: bool = Field(False, description="units grouped inside street blocks")


class ImportReport(Answer):
    """Validation report and preview of an upload (also the 422 body of a blocked one)."""

    file: str
    readable: bool
    crs: str | None = None
    levels: list[str] | None = None
    layers: list[str] | None = None
    base_generation: int | None = None
    stats: dict[str, int] | None = None
    acceptable: bool
    committed: bool
    generation: int | None = None
    counts: dict[str, int] | None = None
    activation: dict[str, Any] | None = None
    preview: dict[str, Any] | None = None
    timings: dict[str, float] | None = None
    error: str | None = Field(None, description="why the file could not be read")
    problems: list[Problem]
    groups: list[ProblemGroup] = Field(
        default_factory=list, description="problems by check, errors first, causes folded")
    recut: Recut | None = None
    exit_code: int = Field(description="0 acceptable, 1 blocked, 2 unreadable")
    problem_geometries: dict[str, Any] = Field(
        description="GeoJSON FeatureCollection of the problem places ({} when unreadable)")
    recut_geometries: dict[str, Any] = Field(
        default_factory=dict, description="GeoJSON FeatureCollection of the re-cut units "
        "(code, grid, change, buildings; {} when none)")
