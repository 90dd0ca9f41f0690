"""Log-in and log-out: ``POST /api/v1/session`` gives a session token (an API token of the
account's role and area, ``gis.access.accounts``); ``DELETE`` revokes the caller's session
token (a script token stays: ``{"revoked": false}``).

Refusals are 401: ``bad_credentials`` (wrong password or unknown user name, one answer),
``account_locked`` (locked after too many failures) and ``account_disabled``; the last two
only after the right password.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from gis.access import accounts
from gis.access.auth import Principal
from gis.api import deps
from gis.api.answers import Revoked
from gis.api.schemas import LoginIn

router = APIRouter(prefix="/api/v1", tags=["session"])

Eng = Annotated[Engine, Depends(deps.engine)]


@router.post("/session", response_model=accounts.Session, summary="Log in (a session token)")
async def post_session(body: LoginIn, engine: Eng) -> dict[str, Any]:
    """A session token for the right user name and password (401 otherwise)."""
    s = await run_in_threadpool(accounts.login, engine, body.username, body.password)
    return asdict(s)


@router.delete("/session", response_model=Revoked, summary="Log out (revoke this session)")
def delete_session(who: Annotated[Principal, Depends(deps.current)],
                   engine: Eng) -> dict[str, Any]:
    """Revoke the session token of the request (false: not a live session token)."""
    return {"revoked": accounts.logout(engine, who)}
