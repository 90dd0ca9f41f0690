"""Migration 0013: targets already in use are registered and catch up on the alerts no round
queued for them; from then on each new alert is queued for them as it is written."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from support.scratchdb import scratch_database

from gis.db import migrate


@pytest.fixture()
def scratch(settings):
    """An empty database of its own (the owner's); dropped afterwards."""
    with scratch_database(settings, "mig13") as eng:
        yield eng


BEFORE = """
INSERT INTO event_class (code, name) VALUES ('x', 'X');
INSERT INTO event_item (code, class_code, name) VALUES ('x.a', 'x', 'A');
INSERT INTO event (id, item_code, source, location_status, location_method)
VALUES (1, 'x.a', 'worker', 'unassigned', 'none');
INSERT INTO alert (id, kind, event_id, level, created_at) VALUES
    (1, 'escalated', 1, 'district', now() - interval '10 days'),
    (2, 'escalated', 1, 'district', now() - interval '5 days'),
    (3, 'escalated', 1, 'district', now() - interval '1 day');
INSERT INTO alert_delivery (alert_id, target, attempts, delivered_at) VALUES
    (1, 'sms', 1, now() - interval '10 days'), (3, 'sms', 0, NULL);
"""


def _outbox(engine) -> list[tuple]:
    """(alert id, target, delivered?) of every outbox row."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT alert_id, target, delivered_at IS NOT NULL FROM alert_delivery "
            "ORDER BY alert_id, target"))]


def test_targets_in_use_catch_up_and_new_alerts_are_queued_as_written(scratch):
    """Alert 2 (missed: five days old when the next round looked back two) is queued for
    'sms'; alert 4, written after the upgrade, is queued by the trigger; down and up again."""
    migrate.upgrade(scratch, "0012")
    with scratch.begin() as conn:
        for stmt in BEFORE.strip().split(";\n"):
            conn.execute(text(stmt))
    migrate.upgrade(scratch)
    assert _outbox(scratch) == [(1, "sms", True), (2, "sms", False), (3, "sms", False)]
    with scratch.begin() as conn:
        assert conn.execute(text("SELECT name FROM alert_target")).scalars().all() == ["sms"]
        conn.execute(text("INSERT INTO alert (id, kind, event_id, level) "
                          "VALUES (4, 'whistle', 1, 'street')"))
    assert _outbox(scratch)[-1] == (4, "sms", False)
    migrate.downgrade(scratch, "0012")
    migrate.upgrade(scratch)
    assert len(_outbox(scratch)) == 4
