"""Request and response models of the patrol uploads and the track reads; the answers are
the domain's TypedDicts (``gis.intake.patrols``, ``gis.intake.patrol_chunks``), kept whole
(``KEEP_KEYS``)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from gis.api.answers import KEEP_KEYS
from gis.api.params import Instant
from gis.intake import patrol_chunks, patrols


class ChunkFixIn(BaseModel):
    """One GPS fix of a chunk."""

    model_config = ConfigDict(extra="forbid")
    lon: float = Field(..., description="Longitude in the datum named by the chunk's crs.")
    lat: float = Field(..., description="Latitude in the datum named by the chunk's crs.")
    t: Instant = Field(..., description="Time of the fix; naive times are taken as UTC+8.")
    acc: float | None = Field(None, ge=0, description=(
        "Accuracy estimate of the phone in metres; fixes with acc > 100 are dropped."))


class ChunkIn(BaseModel):
    """One numbered chunk of a patrol track recorded on a phone."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"track_uid": "0b7f6c1e-3a52-4a8e-9d7c-5f1e2a3b4c5d", "seq": 0, "crs": "gcj02",
         "fixes": [{"lon": 120.6051, "lat": 31.3034, "t": "2026-11-05T09:00:00", "acc": 8},
                   {"lon": 120.6053, "lat": 31.3036, "t": "2026-11-05T09:00:05", "acc": 9}],
         "final": False}]})

    track_uid: UUID = Field(..., description="Made by the phone when the patrol starts.")
    seq: int = Field(..., ge=0, lt=100_000, description="0, 1, 2, ... in recording order.")
    worker: str | None = Field(None, min_length=1, max_length=64, description=(
        "Worker code; default: the caller's worker."))
    crs: str = Field("wgs84", description="wgs84 (default), gcj02, bd09 or cgcs2000.")
    fixes: list[ChunkFixIn] = Field(..., min_length=1, max_length=2000)
    final: bool = Field(False, description="True on the chunk sent when the patrol stops.")


class ChunkStored(patrol_chunks.ChunkStored):
    """The answer to a chunk: stored or replayed, and the track so far (null: < 2 places)."""

    __pydantic_config__ = KEEP_KEYS


class StoredTrack(patrols.TrackStored):
    """A stored patrol track: its length and main grid."""

    __pydantic_config__ = KEEP_KEYS


class TrackFeature(patrol_chunks.TrackFeature):
    """A patrol track as a GeoJSON feature (LineString, WGS84)."""

    __pydantic_config__ = KEEP_KEYS


class TrackCollection(patrol_chunks.TrackCollection):
    """A day's patrol tracks as a GeoJSON FeatureCollection."""

    __pydantic_config__ = KEEP_KEYS
