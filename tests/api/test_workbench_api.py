"""GET /api/v1/workbench/queues: counts and first rows of each queue, in the caller's area."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from support.workflow import CENTRE, G1, G_OTHER_STREET, W1, bearer, report

from gis.access.auth import Principal
from gis.territory.locator import Locator
from gis.workflow import requests
from gis.workflow import transitions as workflow


def _queues(client, headers=None):
    """The answer as {queue name: (count, [ids])}."""
    r = client.get("/api/v1/workbench/queues", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["level"], {q["name"]: (q["count"], [x["id"] for x in q["rows"]])
                               for q in r.json()["queues"]}


def test_community_dispatcher_sees_only_its_community(client, engine):
    """Each queue of a community dispatcher holds its community's events only."""
    loc = Locator(engine)
    past = datetime.now(UTC) - timedelta(days=10)
    mine_new = report(engine, loc, "safety.fire", G1)
    report(engine, loc, "safety.fire", G_OTHER_STREET)
    late = report(engine, loc, "safety.fire", G1, unit=G1 + "002")
    far_late = report(engine, loc, "safety.fire", G_OTHER_STREET, unit=G_OTHER_STREET + "002")
    for e in (late, far_late):
        workflow.transition(engine, e, "accept", CENTRE, now=past)
        workflow.transition(engine, e, "dispatch", CENTRE, now=past)
    requests.ask_escalate(engine, late, Principal("grid_worker", (G1,), worker_code=W1), "帮忙")
    h = bearer(engine, "community_dispatcher", "320508001001", name="c1")
    level, qs = _queues(client, h)
    assert level == "community"
    assert qs["new"] == (1, [mine_new])
    assert qs["overdue"] == (1, [late])
    assert qs["requests"] == (1, [late])
    assert qs["unassigned"] == (0, [])
    assert qs["escalated"] == (0, [])
    _lvl, centre = _queues(client)
    assert centre["new"][0] == 2 and centre["overdue"][0] == 2


def test_escalated_to_my_level_and_refusals(client, engine):
    """An event escalated to the street shows for the street dispatcher; a worker gets 403."""
    loc = Locator(engine)
    eid = report(engine, loc, "safety.fire", G1)
    workflow.transition(engine, eid, "accept", CENTRE)
    workflow.transition(engine, eid, "dispatch", CENTRE)
    workflow.transition(engine, eid, "escalate", CENTRE, note="大", level="street")
    lvl, qs = _queues(client, bearer(engine, "street_dispatcher", "320508001", name="s1"))
    assert lvl == "street" and qs["escalated"] == (1, [eid])
    row = client.get("/api/v1/workbench/queues",
                     headers=bearer(engine, "street_dispatcher", "320508001")).json()
    first = next(q for q in row["queues"] if q["name"] == "escalated")["rows"][0]
    assert first["item_name"] and first["level"] == "street" and first["grid"] == G1
    _lvl, other = _queues(client, bearer(engine, "street_dispatcher", "320508002"))
    assert other["escalated"] == (0, [])
    r = client.get("/api/v1/workbench/queues", headers=bearer(engine, "grid_worker", G1,
                                                               worker=W1))
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_role"
    assert client.get("/api/v1/workbench/queues", headers={"Authorization": ""}).status_code \
        == 401
