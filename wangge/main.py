"""ASGI entry point: ``uvicorn --factory wangge.main:app``."""

from fastapi import FastAPI

from gis.settings import get_settings
from wangge.app import create_app


def app() -> FastAPI:
    """Application factory reading settings from the environment."""
    return create_app(get_settings())
