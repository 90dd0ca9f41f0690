"""The API in its own process on a free port, for clients that block the interpreter
(GDAL through pyogrio holds the GIL while it fetches: a server thread would starve)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gis.settings import Settings
from support.served import free_port, stop, wait_up

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def api_process(settings: Settings) -> Iterator[str]:
    """uvicorn serving ``wangge.app`` on the test database; yields its base URL."""
    port = free_port()
    env = os.environ | {"WANGGE_DATABASE_URL": settings.database_url,
                        "DATABASE_URL": settings.database_url}
    code = ("import uvicorn; from wangge.app import create_app; from gis.settings import "
            "Settings; uvicorn.run(create_app(Settings(), listen=False), host='127.0.0.1', "
            f"port={port}, log_level='warning')")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base + "/api/v1/health", proc)
        yield base
    finally:
        stop(proc, 15)
