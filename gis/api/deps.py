"""FastAPI dependencies: the engine, the locator and the settings of this app.

They are `async` so that FastAPI does not hop to a worker thread to run them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from fastapi import Request
from sqlalchemy import Engine

from gis.db.engine import get_heavy_engine
from gis.errors import Busy
from gis.settings import Settings
from gis.territory.locator import Locator


async def engine(request: Request) -> Engine:
    """The app's engine."""
    return request.app.state.engine


async def locator(request: Request) -> Locator:
    """The app's locator."""
    return request.app.state.locator


async def settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


def _heavy_slots(request: Request) -> anyio.Semaphore:
    """The app's slots for heavy reads (one per connection of the heavy pool)."""
    state = request.app.state
    slots = getattr(state, "heavy_slots", None)
    if slots is None:
        slots = state.heavy_slots = anyio.Semaphore(state.settings.heavy_pool_size)
    return slots


async def heavy_engine(request: Request) -> AsyncIterator[Engine]:
    """The heavy-read engine, held through one of ``heavy_pool_size`` slots.

    A request waits for its slot here, in the event loop, so heavy reads queued behind each
    other hold neither a worker thread nor a connection of the pool event intake uses.
    """
    settings: Settings = request.app.state.settings
    slots = _heavy_slots(request)
    acquired = False
    with anyio.move_on_after(settings.heavy_wait_s):
        await slots.acquire()
        acquired = True
    if not acquired:
        raise Busy("too many heavy reads at once; retry later")
    try:
        yield get_heavy_engine(settings)
    finally:
        slots.release()
