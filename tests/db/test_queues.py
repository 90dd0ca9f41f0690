"""The dispatcher workbench's queues: each limited to the caller's area by the scope rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.workflow import (
    CENTRE,
    G1,
    G_OTHER_COMMUNITY,
    G_OTHER_STREET,
    W1,
    clear_workflow,
    report,
)

from gis.access.auth import Principal
from gis.errors import Forbidden, InvalidInput
from gis.territory.locator import Locator
from gis.workflow import duplicates, queues, requests
from gis.workflow import transitions as workflow

COMMUNITY = Principal("community_dispatcher", ("320508001001",), name="c1")
STREET = Principal("street_dispatcher", ("320508001",), name="s1")
WORKER = Principal("grid_worker", (G1,), worker_code=W1)


@pytest.fixture()
def loc(demo_district, engine, owner_engine):
    """A locator on the demo district with no workflow rows."""
    clear_workflow(owner_engine)
    return Locator(engine)


def _ids(engine, who, name, now=None):
    """The event ids of one queue and its count."""
    qu = queues.queue(engine, who, name, now=now)
    return {r["id"] for r in qu["rows"]}, qu["count"]


def test_community_dispatcher_sees_only_its_community(engine, loc):
    """new: own community only; the street sees both of its communities; the centre all."""
    mine = report(engine, loc, "safety.fire", G1)
    other_c = report(engine, loc, "safety.fire", G_OTHER_COMMUNITY)
    other_s = report(engine, loc, "safety.fire", G_OTHER_STREET)
    assert _ids(engine, COMMUNITY, "new") == ({mine}, 1)
    assert _ids(engine, STREET, "new") == ({mine, other_c}, 2)
    assert _ids(engine, CENTRE, "new") == ({mine, other_c, other_s}, 3)
    workflow.transition(engine, mine, "accept", COMMUNITY)
    assert _ids(engine, COMMUNITY, "new") == (set(), 0)


def test_overdue_queue_at_the_clock(engine, loc):
    """An open event past its due time is overdue; not before; not when closed."""
    t0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    eid = report(engine, loc, "safety.fire", G1)
    far = report(engine, loc, "safety.fire", G_OTHER_STREET)
    for e in (eid, far):
        workflow.transition(engine, e, "accept", CENTRE, now=t0)
        workflow.transition(engine, e, "dispatch", CENTRE, now=t0)
    due = t0 + timedelta(hours=24)
    assert _ids(engine, COMMUNITY, "overdue", due - timedelta(seconds=1)) == (set(), 0)
    ids, n = _ids(engine, COMMUNITY, "overdue", due)
    assert (ids, n) == ({eid}, 1)
    row = queues.queue(engine, COMMUNITY, "overdue", now=due)["rows"][0]
    assert row["overdue"] is True and row["item"] == "safety.fire" and row["grid"] == G1
    assert row["item_name"] and row["level"] == "grid" and row["due_at"] == due
    assert _ids(engine, CENTRE, "overdue", due)[1] == 2


def test_escalated_queue_is_the_callers_level(engine, loc):
    """An event escalated to the street is in the street dispatcher's queue, not the community's."""
    eid = report(engine, loc, "safety.fire", G1)
    workflow.transition(engine, eid, "accept", CENTRE)
    workflow.transition(engine, eid, "dispatch", CENTRE)
    assert _ids(engine, STREET, "escalated") == (set(), 0)
    workflow.transition(engine, eid, "escalate", CENTRE, note="big", level="community")
    assert _ids(engine, COMMUNITY, "escalated") == ({eid}, 1)
    assert _ids(engine, STREET, "escalated") == (set(), 0)
    workflow.transition(engine, eid, "escalate", CENTRE, note="bigger", level="street")
    assert _ids(engine, STREET, "escalated") == ({eid}, 1)
    assert _ids(engine, COMMUNITY, "escalated") == (set(), 0)


def test_requests_queue_until_escalated(engine, loc):
    """A grid worker's request shows for its community until a dispatcher escalates."""
    eid = report(engine, loc, "safety.fire", G1)
    other = report(engine, loc, "safety.fire", G_OTHER_STREET)
    for e in (eid, other):
        workflow.transition(engine, e, "accept", CENTRE)
        workflow.transition(engine, e, "dispatch", CENTRE)
    requests.ask_escalate(engine, eid, WORKER, "需要社区支援")
    requests.ask_escalate(engine, other, Principal("grid_worker", (G_OTHER_STREET,),
                                                  worker_code="W" + G_OTHER_STREET), "help")
    assert _ids(engine, COMMUNITY, "requests") == ({eid}, 1)
    assert _ids(engine, CENTRE, "requests")[1] == 2
    workflow.transition(engine, eid, "escalate", COMMUNITY, note="ok", level="community")
    assert _ids(engine, COMMUNITY, "requests") == (set(), 0)


def test_duplicates_queue_and_refusals(engine, loc):
    """A possible duplicate shows until dismissed; a grid worker may not read queues."""
    a = report(engine, loc, "safety.fire", G1)
    b = report(engine, loc, "safety.fire", G1, offset_m=5)
    assert _ids(engine, COMMUNITY, "duplicates") == ({b}, 1)
    assert _ids(engine, Principal("community_dispatcher", ("320508001002",)),
                "duplicates") == (set(), 0)
    duplicates.dismiss(engine, b, a, COMMUNITY)
    assert _ids(engine, COMMUNITY, "duplicates") == (set(), 0)
    with pytest.raises(Forbidden):
        queues.queue(engine, WORKER, "new")
    with pytest.raises(InvalidInput):
        queues.queue(engine, COMMUNITY, "nope")
    wb = queues.workbench(engine, STREET)
    assert wb["level"] == "street" and [x["name"] for x in wb["queues"]] == list(queues.QUEUES)


def test_event_detail_in_area_with_history(engine, loc):
    """The detail has the history; outside the caller's area it does not exist (Hidden)."""
    from gis.access.auth import Hidden

    eid = report(engine, loc, "safety.fire", G1)
    workflow.transition(engine, eid, "accept", CENTRE)
    ev = queues.event_detail(engine, COMMUNITY, eid)
    assert ev["id"] == eid and ev["grid"] == G1 and ev["item_name"]
    assert [h["action"] for h in ev["history"]][-1] == "accept"
    with pytest.raises(Hidden):
        queues.event_detail(engine, Principal("community_dispatcher", ("320508001002",)), eid)
    assert queues.event_detail(engine, WORKER, eid)["worker_phone"] is None
