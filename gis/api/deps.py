"""FastAPI dependencies: the engine, the locator and the settings of this app."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Engine

from gis.locator import Locator
from gis.settings import Settings


def engine(request: Request) -> Engine:
    """The app's engine."""
    return request.app.state.engine


def locator(request: Request) -> Locator:
    """The app's locator."""
    return request.app.state.locator


def settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings
