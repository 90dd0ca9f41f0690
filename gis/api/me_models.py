"""Request and response models of the worker's own endpoints (``gis.api.routers.me``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from gis.workflow import requests as workflow_requests

# GeoJSON geometry, typed loosely (``type`` and ``coordinates``).
Geometry = dict[str, Any]


class PasswordIn(BaseModel):
    """A password change: the current password and the new one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"old_password": "one-time-password", "new_password": "a-new-passphrase"}]})

    old_password: str = Field(..., min_length=1, max_length=256, repr=False)
    new_password: str = Field(..., min_length=1, max_length=256, repr=False)


class PasswordChanged(BaseModel):
    """The password was changed."""

    changed: bool


class Task(BaseModel):
    """One event of a task list and what the caller may do to it now."""

    model_config = ConfigDict(populate_by_name=True)

    id: int
    uid: UUID
    item: str = Field(description="catalogue item code")
    item_name: str = Field(description="the item's Chinese name")
    class_: str = Field(alias="class", description="catalogue class code")
    status: str
    level: str
    reported_at: datetime
    due_at: datetime | None
    overdue: bool
    description: str
    address: str | None
    grid: str | None
    unit: str | None
    lon: float | None = Field(description="WGS84")
    lat: float | None = Field(description="WGS84")
    source: str
    allowed_actions: list[str] = Field(description=(
        "transition actions (POST /api/v1/events/{id}/transitions) and ask_escalate "
        "(POST /api/v1/events/{id}/escalation-request) the caller may take now"))


class Tasks(BaseModel):
    """A page of the caller's to-do (待办) or done (已办) list."""

    list: Literal["todo", "done"]
    count: int = Field(description="items of the whole list (not only this page)")
    items: list[Task]


class EscalationRequestIn(BaseModel):
    """A grid worker's request to escalate: why."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(..., min_length=1, max_length=4000)


class OpenEscalationRequests(BaseModel):
    """Open requests to escalate in the caller's area, newest first."""

    requests: list[workflow_requests.OpenRequest]


class Feature(BaseModel):
    """A GeoJSON Feature."""

    type: Literal["Feature"]
    id: str | int
    geometry: Geometry
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection (WGS84)."""

    type: Literal["FeatureCollection"]
    features: list[Feature]


class MyGrid(BaseModel):
    """The caller's grids, their minimal units and buildings."""

    grids: FeatureCollection = Field(description="properties: code, name, kind, "
                                     "community_code")
    units: FeatureCollection = Field(description="properties: code, name, grid_code, "
                                     "buildings (count)")
    buildings: FeatureCollection = Field(description="properties: id, name, address, floors")
    truncated: bool = Field(description="true: units and buildings left out (an area larger "
                            "than a community, or more buildings than one answer holds)")
