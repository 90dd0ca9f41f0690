"""Request and response models of the worker's own endpoints (``gis.api.routers.me``); most
answers are the domain's TypedDicts (``gis.workflow.tasks``, ``gis.workflow.requests``,
``gis.territory.mygrid``), named in the routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gis.workflow import requests as workflow_requests


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
