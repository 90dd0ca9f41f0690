"""ASGI entry point: ``uvicorn --factory gis.main:app``."""

from fastapi import FastAPI

from gis.api.app import create_app
from gis.settings import get_settings


def app() -> FastAPI:
    """Application factory reading settings from the environment."""
    return create_app(get_settings())
