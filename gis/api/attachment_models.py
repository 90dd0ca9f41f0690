"""Response models of the attachment endpoints (gis.api.routers.attachments)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class GpsHintOut(BaseModel):
    """Where the photo says it was taken (EXIF GPS, WGS84): a hint, not the event's place."""

    lon: float
    lat: float


class AttachmentOut(BaseModel):
    """One photo or voice note of an event; ``url`` serves the stored copy (no EXIF),
    ``thumb_url`` a small JPEG (null for voice notes). The API's own view of
    ``gis.intake.attachments.AttachmentRow``, hence a model: URLs instead of content hashes,
    the GPS hint as one object, the uploader left out."""

    id: int
    event_id: int
    step: str
    history_id: int | None = None
    kind: str
    media_type: str
    bytes: int
    width: int | None
    height: int | None
    sha256: str
    url: str
    thumb_url: str | None
    gps: GpsHintOut | None
    uploaded_at: datetime


class AttachmentList(BaseModel):
    """The attachments of an event (or those just stored), oldest first."""

    attachments: list[AttachmentOut]
