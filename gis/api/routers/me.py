"""/api/v1 ... (me): to be written."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["me"])
