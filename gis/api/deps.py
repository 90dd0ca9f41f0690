"""FastAPI dependencies: the engine, the locator and the settings of this app.

They are `async` so that FastAPI does not hop to a worker thread to run them.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Engine

from gis.locator import Locator
from gis.settings import Settings


async def engine(request: Request) -> Engine:
    """The app's engine."""
    return request.app.state.engine


async def locator(request: Request) -> Locator:
    """The app's locator."""
    return request.app.state.locator


async def settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings
