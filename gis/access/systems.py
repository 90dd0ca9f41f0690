"""Integrating systems (对接系统): which tokens may act for another city system.

A system such as the 12345 hotline talks to Wangge through Open311 with an ``api_key``: a
script token (``wangge token create``), not a person's log-in session nor a grid worker's
token, of a role that has an area (the district centre, a street or a community dispatcher),
e.g. ``wangge token create --role district_centre --name 12345-hotline``. The area of that
role is what the system may read (the one scope rule, ``gis.access.scope``).
"""

from __future__ import annotations

from sqlalchemy import Engine

from gis.access import auth
from gis.access.accounts import SESSION_PREFIX
from gis.access.auth import Principal
from gis.errors import Forbidden, Unauthorized

SYSTEM_ROLES = ("district_centre", "street_dispatcher", "community_dispatcher")


def is_system(p: Principal) -> bool:
    """True when ``p`` is the token of an integrating system (see the module docstring)."""
    return (p.role in SYSTEM_ROLES and p.worker_code is None
            and not p.name.startswith(SESSION_PREFIX))


def authenticate_system(engine: Engine, token: str | None, action: str) -> Principal:
    """The principal of an integrating system's token; Unauthorized for a missing or invalid
    token, Forbidden (audited) for a token of a person or of a role without an area."""
    try:
        p = auth.authenticate(engine, token)
    except Unauthorized as e:
        auth.audit_now(engine, None, action, None, "denied", {"code": e.code})
        reason = ("is required" if token is None
                  else "is not a valid token (unknown, revoked or expired)")
        raise Unauthorized(f"api_key {reason}: give the token of an integrating system",
                           code=e.code) from None
    if not is_system(p):
        auth.audit_now(engine, p, action, None, "denied", {"code": "not_a_system_token"})
        raise Forbidden("api_key is not the token of an integrating system (a script token of "
                        f"the district centre or a dispatcher, without a worker); got a {p.role} "
                        + ("session" if p.name.startswith(SESSION_PREFIX) else "token"),
                        code="not_a_system_token")
    return p
