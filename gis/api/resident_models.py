"""Answers of the resident page's API (``/api/v1/resident``): only what a resident may read.

The answers are the domain's TypedDicts (``gis.intake.resident``: ``Submitted``,
``PublicStatus``, ``PointsBalance``, ``AreaOutlines``), which pydantic serves with their
declared keys only (a key a domain row adds is dropped, never shown to a resident); the one
model here is the API's own wrapper of the items.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from gis.intake import resident


class ResidentItems(BaseModel):
    """The items of the resident page, grouped by class (the route's wrapper of
    ``gis.intake.resident.items``)."""

    model_config = ConfigDict(extra="ignore")

    classes: list[resident.ResidentClass]
