"""SQL injection, end to end: a newline-and-statement payload in every string parameter and body
field of every operation of the OpenAPI document; the database shows that nothing ran."""

from __future__ import annotations

from typing import Any

import pytest
import support.openapi as H
from sqlalchemy import Engine, text

CANARY = "hardening_canary"
# A read endpoint's transaction is rolled back, which would undo an injected INSERT; the
# sequence is not transactional, so nextval() proves a statement ran even then.
HIT = f"INSERT INTO {CANARY} VALUES ($$%s$$); SELECT nextval($${CANARY}_seq$$);"
# Each would write the canary (or promote every token) if it reached the server as SQL text:
# no single quotes inside the statements (the driver doubles them), dollar quotes instead.
PAYLOADS = [
    "x\n; " + HIT % "newline" + " SELECT pg_sleep(0);--",
    "x\n; UPDATE api_token SET role=$$district_centre$$, area_code=NULL; " + HIT % "update"
    + "--",
    "x'); " + HIT % "quote" + "--",
    "x\n) OR 1=1; " + HIT % "paren" + "--",
    "x*/; " + HIT % "block" + "/*",
    "x\r\n; " + HIT % "crlf" + "--",
    "x$$; " + HIT.replace("$$%s$$", "$q$dollar$q$") + "--",
]
# headers cannot carry line breaks
HEADER_PAYLOADS = ["x'); " + HIT % "header" + "--"]


def _tokens(engine: Engine) -> list[tuple[Any, ...]]:
    """Every token row's identity and rights."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT id, token_hash, role, area_code, worker_code, expires_at, revoked_at "
            "FROM api_token "
            "ORDER BY id"))]


def _canary(engine: Engine) -> list[str]:
    """What the payloads wrote (nothing, unless injected): canary rows, 'nextval' if called."""
    with engine.connect() as conn:
        rows = [r[0] for r in conn.execute(text(f"SELECT v FROM {CANARY}"))]
        called = conn.execute(text(f"SELECT is_called FROM {CANARY}_seq")).scalar()
    return rows + (["nextval"] if called else [])


@pytest.fixture()
def canary(owner_engine: Engine) -> Engine:
    """An empty canary table and an unused sequence anyone may use (a restricted API role
    too); made by the owner role, which alone may create tables."""
    engine = owner_engine
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {CANARY}; DROP SEQUENCE IF EXISTS {CANARY}_seq"))
        conn.execute(text(f"CREATE TABLE {CANARY} (v text); CREATE SEQUENCE {CANARY}_seq"))
        conn.execute(text(f"GRANT ALL ON {CANARY}, {CANARY}_seq TO PUBLIC"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {CANARY}; DROP SEQUENCE IF EXISTS {CANARY}_seq"))


def test_statement_payloads_in_every_string_parameter_run_nothing(api, demo_district,
                                                                  canary) -> None:
    """Every string slot of every operation (path, query, header, JSON body, uploaded file
    properties) gets every payload; no 5xx, the canary stays empty, no token changes."""
    from gis.access import auth

    worker = auth.create_token(canary, "grid_worker", area=H.GRID, worker="W" + H.GRID,
                               name="injection")["token"]
    ids = H.demo_ids(canary)
    before = _tokens(canary)
    doc = api.get("/openapi.json").json()
    sent, failures, seen = 0, [], {}
    for op in H.operations(doc, ids):
        for slot in H.string_slots(op):
            codes = seen.setdefault((op.label, slot.label), set())
            for payload in HEADER_PAYLOADS if slot.where == "header" else PAYLOADS:
                kw = op.request(slot, H.text_value(slot, payload))
                for token in (None, worker):  # the district centre, then a grid worker
                    if token is not None:
                        kw["headers"] = {**kw["headers"], "Authorization": f"Bearer {token}"}
                    r = api.request(**kw)
                    sent += 1
                    codes.add(r.status_code)
                    if r.status_code >= 500:
                        failures.append(f"{op.label} {slot.label}: {r.status_code} {r.text[:200]}")
    assert _canary(canary) == [], "an injected statement ran"
    assert _tokens(canary) == before, "an injected statement changed api_token"
    assert not failures, "\n".join(failures)
    # the walk reached the places the outside test used, past validation into the code
    for must in [("GET /api/v1/dispatches", "query:department"),
                 ("GET /api/v1/patrols/coverage", "query:area"),
                 ("GET /api/v1/patrols/unvisited", "query:area"),
                 ("GET /api/v1/patrols/due", "query:area"),
                 ("GET /api/v1/reports/assessment", "query:area"),
                 ("POST /api/v1/events", "body:description"),
                 ("POST /api/v1/boundaries", "file:name")]:
        assert seen.get(must, set()) - {401, 422}, (must, seen.get(must))
    assert sent > 500


def test_canary_detects_a_statement_that_runs(canary) -> None:
    """The detector itself: a payload pasted into SQL text runs, even when rolled back."""
    with canary.connect() as conn:
        conn.execute(text("SELECT 1 -- " + PAYLOADS[0]))
        conn.rollback()
    assert _canary(canary) == ["nextval"]
    with canary.begin() as conn:
        conn.execute(text("SELECT 1 -- " + PAYLOADS[5]))
    assert _canary(canary) == ["crlf", "nextval"]
