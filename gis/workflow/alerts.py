"""Alerts (告警): the webhook outbox and the alerts an open desk page shows.

The alerts themselves are written by database triggers (migration 0011) in the transaction
that stores or climbs an event. The outbox is durable from that moment: every webhook target
is registered (table ``alert_target``) the first time a delivery round runs with it
configured, and from then on a trigger (migration 0013) queues each new alert for every
registered target in the alert's own transaction. A sender that is stopped or down for days
therefore loses nothing; a target left out of the configuration keeps its queue, which is
delivered when it comes back.

A newly registered target gets the earlier alerts of the last ``alert_backfill_h`` hours
(72 by default: a weekend), not the whole history: alerts ask someone to act now, and a new
group robot flooded with months of alerts of long-closed events would bury the live ones
(the WeCom robot also accepts only 20 messages a minute). The alerts left out are counted in
a warning (the target's name and counts, nothing about the events) and stay on the desk pages.

Delivery takes one due row at a time in its own transaction, locked while it is POSTed
(``FOR UPDATE SKIP LOCKED``), and records the outcome before the commit: two concurrent
rounds never send a row twice; a failure backs off (10 s, 20 s, ... 1 h) and the rest of the
round skips that target. A crash between a receiver's answer and the commit can repeat that
one POST, so each carries ``Idempotency-Key: wangge-alert-<id>-<target>``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import httpx
from sqlalchemy import Engine

from gis.access.auth import Principal, read_scope
from gis.clock import CST
from gis.db.queries import q
from gis.settings import AlertWebhook, Settings

log = logging.getLogger(__name__)

SQL = "alerts.sql"
PKG = "gis.workflow.sql"
TIMEOUT_S = 5.0
BACKOFF_BASE_S = 10.0
BACKOFF_MAX_S = 3600.0
LEVELS = ("grid", "community", "street", "district")
LEVEL_ZH = {"grid": "网格", "community": "社区", "street": "街道", "district": "区"}
KIND_ZH = {"high_level_event": "新的高等级事件", "escalated": "事件提级", "whistle": "吹哨报到"}
ROLE_FLOOR = {"grid_worker": "grid", "community_dispatcher": "community",
              "street_dispatcher": "street"}


class Alert(TypedDict):
    """One alert as shown on a page and sent to a webhook."""

    id: int
    kind: str
    event_id: int
    level: str
    area_code: str | None
    grid_code: str | None
    payload: dict[str, Any]
    created_at: datetime


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: 10 s, 20 s, 40 s, ... at most 1 h."""
    return timedelta(seconds=min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def text_zh(a: dict[str, Any]) -> str:
    """The alert as one Chinese line for people (time in China Standard Time)."""
    p = a.get("payload") or {}
    at = a["created_at"].astimezone(CST).strftime("%Y-%m-%d %H:%M")
    area = a.get("area_code") or "全区"
    item = p.get("item_name") or p.get("item_code") or ""
    return (f"【告警】{KIND_ZH.get(a['kind'], a['kind'])}：{item}（事件 #{a['event_id']}），"
            f"{LEVEL_ZH.get(a['level'], a['level'])}级办理，区域 {area}，"
            f"网格 {a.get('grid_code') or '-'}，{at} 北京时间")


class WebhookBody(TypedDict, total=False):
    """A webhook POST body: the alert's fields (json) or msgtype + text (WeCom robot)."""

    msgtype: str
    text: Any
    alert_id: int
    kind: str
    event_id: int
    level: str
    area_code: str | None
    grid_code: str | None
    created_at: str
    payload: dict[str, Any]


def body(a: dict[str, Any], kind: str) -> WebhookBody:
    """The POST body for a target of ``kind`` (json, or the WeCom group-robot text message)."""
    content = text_zh(a)
    if kind == "wecom":
        return WebhookBody(msgtype="text", text={"content": content})
    return {"alert_id": a["alert_id"], "kind": a["kind"], "event_id": a["event_id"],
            "level": a["level"], "area_code": a["area_code"], "grid_code": a["grid_code"],
            "created_at": a["created_at"].isoformat(), "payload": a["payload"], "text": content}


def _post(client: httpx.Client, target: AlertWebhook, a: dict[str, Any]) -> str | None:
    """POST one alert; None when accepted, else a short error without the URL or any PII."""
    key = f"wangge-alert-{a['alert_id']}-{target.name}"
    try:
        r = client.post(target.url, json=body(a, target.kind), headers={"Idempotency-Key": key})
    except httpx.HTTPError as e:
        return f"{type(e).__name__}"
    if not r.is_success:
        return f"refused: {r.reason_phrase}"[:200]
    if target.kind == "wecom":
        try:
            code = r.json().get("errcode", 0)
        except ValueError:
            return "bad response (not JSON)"
        if code:
            return f"wecom errcode {code}"
    return None


@dataclass(frozen=True)
class Registration:
    """A webhook target registered by a round: earlier alerts queued for it and left out."""

    target: str
    queued: int
    skipped: int


def _log_registration(r: Registration, horizon: timedelta) -> None:
    """Say what a new target got; a warning with the counts when older alerts were left out."""
    hours = horizon.total_seconds() / 3600
    if r.skipped:
        log.warning("alert target %s registered: %d earlier alerts queued, %d older than %g h "
                    "not queued (WANGGE_ALERT_BACKFILL_H)", r.target, r.queued, r.skipped, hours)
    else:
        log.info("alert target %s registered: %d earlier alerts queued", r.target, r.queued)


def register(engine: Engine, names: list[str], now: datetime,
             horizon: timedelta) -> list[Registration]:
    """Register the targets not known yet, queueing each the alerts of the last ``horizon``."""
    with engine.connect() as conn:
        new = list(conn.execute(q(SQL, "unregistered", PKG), {"targets": names}).scalars())
    if not new:
        return []
    done = []
    with engine.begin() as conn:
        conn.execute(q(SQL, "lock_alerts", PKG))
        for name in new:
            if conn.execute(q(SQL, "register", PKG), {"target": name, "now": now}).first():
                r = conn.execute(q(SQL, "backfill", PKG),
                                 {"target": name, "since": now - horizon}).one()
                done.append(Registration(name, r.queued, r.skipped))
    for r in done:
        _log_registration(r, horizon)
    return done


def _deliver_one(engine: Engine, client: httpx.Client, targets: dict[str, AlertWebhook],
                 live: list[str], now: datetime) -> tuple[str, bool] | None:
    """Claim one due row of ``live`` targets, POST it, record the outcome before the commit;
    (target, delivered), or None when nothing is due."""
    with engine.begin() as conn:
        r = conn.execute(q(SQL, "claim", PKG), {"now": now, "targets": live}).mappings().first()
        if r is None:
            return None
        err = _post(client, targets[r["target"]], dict(r))
        key = {"alert_id": r["alert_id"], "target": r["target"], "now": now}
        if err is None:
            conn.execute(q(SQL, "delivered", PKG), key)
        else:
            log.warning("alert %s to %s failed (attempt %s): %s", r["alert_id"], r["target"],
                        r["attempts"] + 1, err)
            conn.execute(q(SQL, "failed", PKG), key | {
                "next_at": now + backoff(r["attempts"] + 1), "error": err[:200]})
    return r["target"], err is None


def deliver_due(engine: Engine, settings: Settings, now: datetime | None = None,
                batch: int = 50) -> int:
    """Register new webhook targets, then deliver up to ``batch`` due rows; delivered count."""
    targets = {t.name: t for t in settings.alert_webhooks}
    if not targets:
        return 0
    now = now or datetime.now(UTC)
    register(engine, list(targets), now, timedelta(hours=settings.alert_backfill_h))
    sent, down = 0, set()
    with httpx.Client(timeout=TIMEOUT_S) as client:
        for _ in range(batch):
            live = [n for n in targets if n not in down]
            outcome = _deliver_one(engine, client, targets, live, now) if live else None
            if outcome is None:
                break
            if outcome[1]:
                sent += 1
            else:
                down.add(outcome[0])  # the target is down: the rest of the round skips it
    return sent


@dataclass
class DeliveryWorker:
    """A background thread running ``deliver_due`` every ``interval_s`` seconds."""

    engine: Engine
    settings: Settings
    interval_s: float = 5.0

    def __post_init__(self) -> None:
        """Not started yet."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        """Deliver until stopped; a failing round (database down) is logged and retried."""
        while not self._stop.is_set():
            try:
                deliver_due(self.engine, self.settings)
            except Exception as e:  # noqa: BLE001 - the worker must outlive a bad round
                log.warning("alert delivery round failed: %s", type(e).__name__)
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        """Start the thread (a no-op without webhook targets)."""
        if self.settings.alert_webhooks and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="alert-delivery",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for its current round."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT_S * 2)
            self._thread = None


def levels_for(who: Principal) -> list[str]:
    """The alert levels a caller sees: their own level and above (the centre: all)."""
    floor = ROLE_FLOOR.get(who.role, "grid")
    return list(LEVELS[LEVELS.index(floor):])


def last_id(engine: Engine) -> int:
    """The newest alert id (a page opened now shows only alerts after it)."""
    with engine.connect() as conn:
        return int(conn.execute(q(SQL, "last_id", PKG)).scalar())


def recent(engine: Engine, who: Principal, after_id: int, limit: int = 20) -> list[Alert]:
    """Alerts after ``after_id`` in the caller's area at or above their level, oldest first."""
    params = dict(read_scope(who)) | {"after_id": after_id, "levels": levels_for(who),
                                      "limit": limit}
    with engine.connect() as conn:
        return [Alert(**r) for r in conn.execute(q(SQL, "recent", PKG), params).mappings()]
