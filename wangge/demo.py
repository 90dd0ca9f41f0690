"""The demo district (the Suzhou block drawn by etl) loaded in one go, and its processes."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from sqlalchemy import Engine

from gis.access import accounts
from gis.db import migrate
from gis.errors import Conflict
from gis.intake import catalogue
from gis.territory import people
from gis.territory.activation import has_territory
from gis.territory.synthetic import load_synthetic

log = logging.getLogger(__name__)


def prepare(engine: Engine, force: bool = False) -> dict:
    """Migrate, load the catalogue and — unless one is active already — the demo district."""
    migrate.upgrade(engine)
    with engine.begin() as conn:
        cat = catalogue.load(conn)
    loaded = None
    if force or not has_territory(engine):
        loaded = load_district(engine)
    return {"catalogue": cat, "generation": loaded}


def field_account(engine: Engine) -> accounts.OneTimePassword | None:
    """A log-in for the field app: a full-time grid worker's account (user name = worker
    code) with a new one-time password each start; None when the district has no worker."""
    with engine.connect() as conn:
        code = people.first_full_time_worker(conn)
    if code is None:
        return None
    return _account(engine, code, "grid_worker", worker=code)


def _account(engine: Engine, username: str, role: str, area: str | None = None,
             worker: str | None = None) -> accounts.OneTimePassword:
    """A new account, or the existing one with a new one-time password."""
    try:
        return accounts.create_account(engine, username, role, area=area, worker=worker)
    except Conflict:
        return accounts.reset_password(engine, username)


def desk_accounts(engine: Engine) -> list[tuple[str, accounts.OneTimePassword]]:
    """Log-ins for the dashboard, each with a new one-time password every start: the district
    centre (指挥中心), the community dispatcher of the field account's community, a planner."""
    with engine.connect() as conn:
        community = people.first_worker_community(conn)
    out = [("指挥中心 district centre", _account(engine, "centre", "district_centre"))]
    if community is not None:
        out.append((f"社区调度员 community dispatcher ({community})",
                    _account(engine, f"disp{community}", "community_dispatcher", community)))
    out.append(("规划员 planner", _account(engine, "planner", "planner")))
    return out


def load_district(engine: Engine) -> int:
    """The best demo district available: the ETL-drawn Suzhou block, else a generated one."""
    try:
        from etl import demo as etl_demo  # provided by the ETL package once it exists
    except ImportError:
        etl_demo = None
    if etl_demo is not None and hasattr(etl_demo, "load_demo"):
        return etl_demo.load_demo(engine)
    return load_synthetic(engine)


# -- the demo's child processes (the dashboard): never left running after the demo stops ----
_children: list[subprocess.Popen] = []


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the parent dies (Linux), even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def spawn(cmd: Sequence[str]) -> subprocess.Popen:
    """Start a child in its own process group, stopped with the demo (see ``supervise``)."""
    child = subprocess.Popen(list(cmd), start_new_session=True,
                             preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    _children.append(child)
    return child


def stop_children(timeout: float = 10.0) -> None:
    """Terminate every child's process group (SIGTERM, then SIGKILL after ``timeout``)."""
    while _children:
        child = _children.pop()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(child.pid, sig)
            except ProcessLookupError:
                break
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                continue
            # the leader is gone; whatever it started in its group goes too
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break


def _on_signal(signum: int, _frame: object) -> None:
    """SIGTERM / SIGHUP: stop the children, then exit as the signal asks."""
    stop_children()
    raise SystemExit(128 + signum)


def supervise() -> None:
    """Stop the children on exit, SIGTERM, SIGHUP and Ctrl-C (KeyboardInterrupt unwinds).

    uvicorn takes SIGINT / SIGTERM while it serves and, after shutting down, raises the signal
    again with the handlers set here back in place.
    """
    atexit.register(stop_children)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
