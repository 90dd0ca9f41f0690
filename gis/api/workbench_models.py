"""Response models of the dispatcher workbench (``gis.api.routers.workbench``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

QueueName = Literal["new", "unassigned", "duplicates", "overdue", "escalated", "requests"]


class QueueRow(BaseModel):
    """One event in a queue."""

    id: int
    item: str = Field(description="catalogue item code")
    item_name: str = Field(description="the item's Chinese name")
    status: str
    level: Literal["grid", "community", "street", "district"]
    grid: str | None = Field(description="grid code; null when unassigned")
    reported_at: datetime
    due_at: datetime | None
    overdue: bool


class Queue(BaseModel):
    """One queue: its full size in the caller's area and its first rows."""

    name: QueueName
    count: int = Field(ge=0)
    rows: list[QueueRow]


class Workbench(BaseModel):
    """The caller's queues: new reports (待受理), unassigned / outside (未落格), possible
    duplicates (疑似重复), overdue (超期), escalated to my level (上报至本级) and requests to
    escalate (请求上报)."""

    level: Literal["community", "street", "district"]
    queues: list[Queue]
