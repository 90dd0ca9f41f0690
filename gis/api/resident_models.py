"""Answers of the resident page's API (``/api/v1/resident``): only what a resident may read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Answer(BaseModel):
    """Base: fields as documented, nothing else passes."""

    model_config = ConfigDict(extra="ignore")


class ResidentItem(_Answer):
    """An item a resident may report."""

    code: str
    name: str
    name_en: str


class ResidentClass(_Answer):
    """A class of items (Chinese name first)."""

    code: str
    name: str
    name_en: str
    items: list[ResidentItem]


class ResidentItems(_Answer):
    """The items of the resident page, grouped by class."""

    classes: list[ResidentClass]


class AreaFeature(_Answer):
    """A district or grid outline with its name."""

    type: str
    properties: dict[str, str]
    geometry: dict[str, Any]


class AreaMap(_Answer):
    """The district and grid outlines (GeoJSON FeatureCollection, WGS84)."""

    type: str
    features: list[AreaFeature]


class ReportReceived(_Answer):
    """What a resident is told after reporting."""

    tracking_code: str
    status: str
    status_label: str
    located: bool
    photos: int
    message: str


class PublicStep(_Answer):
    """One public step of a report (times in China Standard Time)."""

    action: str
    label: str
    status: str | None
    at: datetime
    at_text: str


class ReportStatus(_Answer):
    """A report by its tracking code: item, status, public history, masked phone."""

    tracking_code: str
    item: str
    item_name: str
    item_name_en: str
    class_name: str
    status: str
    status_label: str
    reported_at: datetime
    reported_at_text: str
    located: bool
    phone: str | None
    photos: int
    history: list[PublicStep]


class PointsEntry(_Answer):
    """One award of points."""

    points: int
    awarded_at: datetime
    awarded_at_text: str
    reason: str
    tracking_code: str | None
    item_name: str | None


class PointsBalance(_Answer):
    """A phone number's points balance and awards (the number masked)."""

    phone: str
    balance: int
    entries: list[PointsEntry]
