"""Request and response models of the worker's own endpoints (``gis.api.routers.me``)."""

from __future__ import annotations

from typing import Any, Literal

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
