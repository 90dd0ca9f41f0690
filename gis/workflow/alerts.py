"""Alerts (告警): the webhook outbox and the alerts an open desk page shows.

The alerts themselves are written by database triggers (migration 0011) in the transaction
that stores or climbs an event; here they are delivered to the configured webhooks, at least
once, with retries and back-off, and read back for a caller's area.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import httpx
from sqlalchemy import Connection, Engine

from gis.access.auth import Principal, read_scope
from gis.clock import CST
from gis.db.queries import q
from gis.settings import AlertWebhook, Settings

log = logging.getLogger(__name__)

SQL = "alerts.sql"
PKG = "gis.workflow.sql"
TIMEOUT_S = 5.0
HORIZON = timedelta(days=2)  # alerts older than this are not queued for a newly added target
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
    try:
        r = client.post(target.url, json=body(a, target.kind))
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


def _deliver_batch(conn: Connection, client: httpx.Client, targets: dict[str, AlertWebhook],
                   now: datetime, batch: int) -> int:
    """Claim due rows (skipping locked ones), POST each, record the outcome; delivered count."""
    rows = conn.execute(q(SQL, "claim", PKG), {"now": now, "targets": list(targets),
                                               "batch": batch}).mappings().all()
    sent = 0
    for r in rows:
        err = _post(client, targets[r["target"]], dict(r))
        key = {"alert_id": r["alert_id"], "target": r["target"], "now": now}
        if err is None:
            conn.execute(q(SQL, "delivered", PKG), key)
            sent += 1
        else:
            log.warning("alert %s to %s failed (attempt %s): %s", r["alert_id"], r["target"],
                        r["attempts"] + 1, err)
            conn.execute(q(SQL, "failed", PKG), key | {
                "next_at": now + backoff(r["attempts"] + 1), "error": err[:200]})
    return sent


def deliver_due(engine: Engine, settings: Settings, now: datetime | None = None,
                batch: int = 50) -> int:
    """Queue new alerts for every webhook target and deliver the due ones; delivered count."""
    targets = {t.name: t for t in settings.alert_webhooks}
    if not targets:
        return 0
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(q(SQL, "enqueue", PKG), {"targets": list(targets), "since": now - HORIZON})
    with engine.begin() as conn, httpx.Client(timeout=TIMEOUT_S) as client:
        return _deliver_batch(conn, client, targets, now, batch)


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
