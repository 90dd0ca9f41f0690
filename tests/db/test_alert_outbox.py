"""The alert outbox: delivery to a local webhook receiver that is down at first, retries
with back-off, nothing lost or sent twice across a restart or days of sender downtime, a new
target's back-fill, the WeCom body."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from support.webhook import Receiver, free_port, url_of
from support.workflow import G1, G2, clear_workflow, report

from gis.access.auth import Principal
from gis.db.engine import get_engine
from gis.settings import AlertWebhook
from gis.territory.locator import Locator
from gis.workflow import alerts


@pytest.fixture()
def loc(demo_district, engine, owner_engine):
    """A locator on the demo district."""
    clear_workflow(owner_engine)
    return Locator(engine)


def _with_hooks(settings, *hooks: AlertWebhook):
    """The test settings with these webhook targets."""
    return settings.model_copy(update={"alert_webhooks": list(hooks)})


def test_outbox_retries_until_the_receiver_is_up_and_survives_a_restart(engine, settings,
                                                                        loc):
    """Two 503s, then delivered once; a new engine (a restart) sends nothing again."""
    rx = Receiver(fail=2)
    try:
        conf = _with_hooks(settings, AlertWebhook(name="sms", url=rx.url, kind="json"))
        eid = report(engine, loc, "crime.theft", G1)
        t0 = datetime.now(UTC)
        assert alerts.deliver_due(engine, conf, t0) == 0
        assert alerts.deliver_due(engine, conf, t0 + timedelta(seconds=5)) == 0  # not due
        assert alerts.deliver_due(engine, conf, t0 + timedelta(seconds=10)) == 0  # 2nd 503
        with engine.connect() as conn:
            d = conn.execute(text("SELECT attempts, next_at, last_error, delivered_at "
                                  "FROM alert_delivery")).one()
        assert d.attempts == 2 and d.delivered_at is None
        assert d.last_error == "refused: Service Unavailable"  # no URL, no body
        assert d.next_at == t0 + timedelta(seconds=30)  # back-off doubled: 10 s, then 20 s
        restarted = get_engine(conf.model_copy(update={"pool_size": 2}))
        assert alerts.deliver_due(restarted, conf, t0 + timedelta(seconds=30)) == 1
        assert alerts.deliver_due(restarted, conf, t0 + timedelta(hours=1)) == 0
        assert alerts.deliver_due(engine, conf, t0 + timedelta(hours=2)) == 0
    finally:
        rx.close()
    assert rx.calls == 3 and len(rx.bodies) == 1
    b = rx.bodies[0]
    assert b["event_id"] == eid and b["kind"] == "high_level_event" and b["level"] == "street"
    assert b["area_code"] == "320508001" and "盗窃" in b["text"]


def test_wecom_body_and_no_webhooks_no_rows(engine, settings, loc):
    """A WeCom robot gets msgtype text with Chinese content; without targets nothing queues."""
    report(engine, loc, "crime.drugs", G1)
    assert alerts.deliver_due(engine, settings) == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alert_delivery")).scalar() == 0
    rx = Receiver(fail=0)
    try:
        conf = _with_hooks(settings, AlertWebhook(name="wecom", url=rx.url, kind="wecom"))
        assert alerts.deliver_due(engine, conf) == 1
    finally:
        rx.close()
    body = rx.bodies[0]
    assert set(body) == {"msgtype", "text"} and body["msgtype"] == "text"
    content = body["text"]["content"]
    assert content.startswith("【告警】新的高等级事件：涉毒") and "区级办理" in content
    assert "北京时间" in content


def test_recent_alerts_follow_the_callers_area_and_level(engine, loc):
    """A street dispatcher sees its street's alerts, not another street's; after_id pages."""
    start = alerts.last_id(engine)
    eid = report(engine, loc, "crime.theft", G1)
    mine = Principal("street_dispatcher", areas=("320508001",), name="s1")
    other = Principal("street_dispatcher", areas=("320508002",), name="s2")
    community = Principal("community_dispatcher", areas=("320508001001",), name="c1")
    got = alerts.recent(engine, mine, start)
    assert [(a["event_id"], a["level"]) for a in got] == [(eid, "street")]
    assert alerts.recent(engine, other, start) == []
    assert [a["event_id"] for a in alerts.recent(engine, community, start)] == [eid]
    assert alerts.recent(engine, mine, got[-1]["id"]) == []


def test_api_lifespan_runs_the_delivery_worker(engine, settings, loc):
    """The API started with a webhook delivers a pending alert in the background."""
    from fastapi.testclient import TestClient

    from gis.api.app import create_app

    report(engine, loc, "crime.gambling", G1)
    rx = Receiver(fail=0)
    try:
        conf = _with_hooks(settings, AlertWebhook(name="sms", url=rx.url))
        with TestClient(create_app(conf, listen=False)):
            deadline = time.monotonic() + 15
            while not rx.bodies and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        rx.close()
    assert [b["payload"]["item_code"] for b in rx.bodies] == ["crime.gambling"]


def test_cli_deliver_once(engine, settings, loc, monkeypatch):
    """``wangge alerts deliver --once`` delivers the pending alert and exits 0."""
    from typer.testing import CliRunner

    from wangge.cli import app

    report(engine, loc, "crime.theft", G1)
    rx = Receiver(fail=0)
    try:
        monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("DATABASE_URL", settings.database_url)
        monkeypatch.setenv("WANGGE_ALERT_WEBHOOKS",
                           json.dumps([{"name": "robot", "url": rx.url, "kind": "wecom"}]))
        res = CliRunner().invoke(app, ["alerts", "deliver", "--once"])
    finally:
        rx.close()
    assert res.exit_code == 0, res.output
    assert "delivered 1" in res.output
    assert rx.bodies[0]["msgtype"] == "text" and "盗窃" in rx.bodies[0]["text"]["content"]


def test_concurrent_workers_deliver_each_alert_once(engine, settings, loc):
    """Two delivery rounds at the same time (two API processes): one POST per alert."""
    for _ in range(3):
        report(engine, loc, "crime.theft", G1)
    rx = Receiver(fail=0, delay_s=0.2)
    conf = _with_hooks(settings, AlertWebhook(name="sms", url=rx.url))
    counts: list[int] = []
    try:
        threads = [threading.Thread(target=lambda: counts.append(
            alerts.deliver_due(engine, conf))) for _ in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        rx.close()
    assert sum(counts) == 3 and rx.calls == 3
    assert sorted(b["alert_id"] for b in rx.bodies) == sorted({b["alert_id"] for b in rx.bodies})


def _outbox(engine) -> list[tuple]:
    """(event id, target, attempts, delivered?, last error) of every outbox row, in order."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT a.event_id, d.target, d.attempts, d.delivered_at IS NOT NULL, d.last_error "
            "FROM alert_delivery d JOIN alert a ON a.id = d.alert_id ORDER BY a.id, d.target"))]


def test_an_alert_is_queued_as_it_is_written_and_sent_after_days_of_sender_downtime(
        engine, settings, loc):
    """The outbox row exists before any round; the receiver is down (nothing listens), no
    round runs for three days, then it comes up: both alerts are delivered, once each."""
    port = free_port()
    conf = _with_hooks(settings, AlertWebhook(name="sms", url=url_of(port)))
    t0 = datetime.now(UTC)
    assert alerts.deliver_due(engine, conf, t0) == 0  # registers the target; nothing yet
    first = report(engine, loc, "crime.theft", G1)
    assert _outbox(engine) == [(first, "sms", 0, False, None)]  # queued with the alert
    t1 = datetime.now(UTC)
    assert alerts.deliver_due(engine, conf, t1) == 0  # connection refused
    assert _outbox(engine) == [(first, "sms", 1, False, "ConnectError")]
    second = report(engine, loc, "crime.drugs", G2)  # while the sender is down
    rx = Receiver(fail=0, port=port)
    try:
        assert alerts.deliver_due(engine, conf, t1 + timedelta(days=3)) == 2
        assert alerts.deliver_due(engine, conf, t1 + timedelta(days=4)) == 0
    finally:
        rx.close()
    assert sorted(b["event_id"] for b in rx.bodies) == sorted([first, second])
    assert len(set(rx.keys)) == 2 and all(k.startswith("wangge-alert-") for k in rx.keys)
    assert [r[3] for r in _outbox(engine)] == [True, True]


def test_a_new_target_gets_the_alerts_of_its_horizon_and_a_warning_counts_the_rest(
        engine, owner_engine, settings, loc, caplog):
    """A target registered before the alerts gets all three, even one five days old; a
    target configured later gets the two of the last 72 h, and a warning counts the third
    (the target's name and counts only)."""
    rx = Receiver(fail=0)
    try:
        old = AlertWebhook(name="old", url=rx.url)
        assert alerts.deliver_due(engine, _with_hooks(settings, old)) == 0
        ids = [report(engine, loc, "crime.theft", G1) for _ in range(3)]
        with owner_engine.begin() as conn:
            conn.execute(text("UPDATE alert SET created_at = created_at - interval '5 days' "
                              "WHERE event_id = :e"), {"e": ids[0]})
        conf = _with_hooks(settings, old, AlertWebhook(name="new", url=rx.url)).model_copy(
            update={"alert_backfill_h": 72})
        with caplog.at_level(logging.INFO, logger="gis.workflow.alerts"):
            assert alerts.deliver_due(engine, conf) == 5
    finally:
        rx.close()
    sent = zip(rx.keys, rx.bodies, strict=True)
    got = sorted((k.rsplit("-", 1)[1], b["event_id"]) for k, b in sent)
    assert got == sorted([("old", i) for i in ids] + [("new", i) for i in ids[1:]])
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == ["alert target new registered: 2 earlier alerts queued, 1 older than "
                      "72 h not queued (WANGGE_ALERT_BACKFILL_H)"]


def _wait_for_lock_wait(engine, registering: threading.Thread) -> bool:
    """Whether the registration came to wait on the alert table's lock (False: it finished)."""
    sql = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
               "AND wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE alert%'")
    while registering.is_alive():
        with engine.connect() as conn:
            if conn.execute(sql).scalar():
                return True
        time.sleep(0.02)
    return False


def test_registering_a_target_waits_for_an_alert_being_written(engine, settings, loc):
    """An alert whose transaction is still open when its target is registered is queued
    once: the registration waits for it (the trigger ran before the target existed, and the
    back-fill could not see the uncommitted alert)."""
    eid = report(engine, loc, "crime.theft", G1)
    writer = engine.connect()
    tx = writer.begin()
    pending = writer.execute(text("INSERT INTO alert (kind, event_id, level) "
                                  "VALUES ('escalated', :e, 'district') RETURNING id"),
                             {"e": eid}).scalar()
    done: list = []
    th = threading.Thread(target=lambda: done.append(alerts.register(
        engine, ["sms"], datetime.now(UTC), timedelta(hours=72))))
    th.start()
    try:
        waited = _wait_for_lock_wait(engine, th)
    finally:
        tx.commit()
        writer.close()
        th.join()
    assert waited
    assert [(r.target, r.queued, r.skipped) for r in done[0]] == [("sms", 2, 0)]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT alert_id FROM alert_delivery WHERE target = 'sms'"))
        assert pending in [r[0] for r in rows]
    assert alerts.register(engine, ["sms"], datetime.now(UTC), timedelta(hours=72)) == []
