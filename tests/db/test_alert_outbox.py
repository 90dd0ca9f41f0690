"""The alert outbox: delivery to a local webhook receiver that is down at first, retries
with back-off, nothing lost or sent twice across a restart, the WeCom body."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text
from support.workflow import G1, clear_workflow, report

from gis.access.auth import Principal
from gis.db.engine import get_engine
from gis.settings import AlertWebhook
from gis.territory.locator import Locator
from gis.workflow import alerts


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 503 to the first ``fail`` POSTs."""

    def __init__(self, fail: int, delay_s: float = 0.0) -> None:
        """Start it on a free port."""
        self.bodies: list[dict] = []
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                n = int(self.headers["Content-Length"])
                data = json.loads(self.rfile.read(n))
                outer.calls += 1
                time.sleep(delay_s)
                ok = outer.calls > fail
                if ok:
                    outer.bodies.append(data)
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode": 0, "errmsg": "ok"}')

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop it."""
        self.server.shutdown()
        self.server.server_close()


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
