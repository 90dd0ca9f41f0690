"""Request models of the HTTP API (the response models are in ``gis.api.answers``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gis.api.params import Instant
from gis.clock import CST as CST  # re-exported: the one China Standard Time
from gis.clock import assume_cst


def _aware(v: datetime | None) -> datetime | None:
    """Naive times are China Standard Time (UTC+8), as phones in China send them."""
    return None if v is None else assume_cst(v)


class ReportIn(BaseModel):
    """One event report. Give lon/lat (with crs), or a building_id, or an address."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"item": "safety.fire", "source": "worker", "lon": 120.6010, "lat": 31.3100,
         "crs": "wgs84", "description": "e-bike charging in the stairwell", "reporter": "W001"}
    ]})

    item: str = Field(..., min_length=1, max_length=64, description="Catalogue item code.")
    source: Literal["worker", "resident", "camera", "hotline", "department", "other"] = "resident"
    lon: float | None = Field(None, description="Longitude in the datum named by crs.")
    lat: float | None = Field(None, description="Latitude in the datum named by crs.")
    crs: str = Field("wgs84", description="wgs84 (default), gcj02, bd09 or cgcs2000.")
    building_id: int | str | None = Field(None, description="Building id or source id.")
    address: str | None = Field(None, max_length=500)
    camera_code: str | None = Field(None, max_length=64)
    description: str = Field("", max_length=4000)
    reporter: str | None = Field(None, max_length=100)
    reported_at: Instant | None = Field(None, description="Naive times are taken as UTC+8.")
    extra: dict[str, Any] = Field(default_factory=dict)


class TrackPoint(BaseModel):
    """One GPS fix of a patrol."""

    model_config = ConfigDict(extra="forbid")
    lon: float
    lat: float
    t: Instant = Field(..., description="Time of the fix; naive times are taken as UTC+8.")


class PatrolIn(BaseModel):
    """A worker's GPS track."""

    model_config = ConfigDict(extra="forbid")
    worker: str = Field(..., min_length=1, max_length=64, description="Worker code.")
    crs: str = "wgs84"
    points: list[TrackPoint] = Field(..., min_length=2, max_length=20_000)


class LoginIn(BaseModel):
    """A log-in: user name (worker code or phone number) and password."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"username": "W001", "password": "one-time-password"}]})

    username: str = Field(..., min_length=1, max_length=64)
    password: str = Field(..., min_length=1, max_length=256, repr=False)
