"""Attachments of events: photos and voice notes on a report or on a later step, checked from
their bytes (gis.media.images), kept by content hash (gis.media.store), recorded in
``attachment``.

No area check here: the callers decide who may see the event first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, Row

from gis.db.queries import q
from gis.errors import InvalidInput, NotFound
from gis.media import images
from gis.media.store import MediaStore, sha256_of
from gis.settings import Settings

SQL = "attachments.sql"
PKG = "gis.intake.sql"
STEP_RE = re.compile(r"^[a-z_]{1,32}$")
REPORTER_WINDOW = timedelta(days=1)  # how long a reporter may add photos to their own report


@dataclass
class Upload:
    """One file as sent: its name and content type as the sender gave them, and its bytes."""

    filename: str
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class AttachmentRow:
    """One stored attachment of an event."""

    id: int
    event_id: int
    step: str
    kind: str
    media_type: str
    bytes: int
    width: int | None
    height: int | None
    sha256: str
    thumb_sha256: str | None
    gps_lon: float | None
    gps_lat: float | None
    uploaded_by: str | None
    uploaded_at: datetime
    history_id: int | None = None


OnStored = Callable[[Connection, list[AttachmentRow]], None]


def limits(settings: Settings) -> images.Limits:
    """The size limits and thumbnail size of ``settings``."""
    return images.Limits(settings.max_photo_bytes, settings.max_voice_bytes, settings.thumb_px)


def check_step(step: str) -> str:
    """InvalidInput unless ``step`` is 'report' or an action name (a-z and _, ≤ 32)."""
    if not isinstance(step, str) or not STEP_RE.match(step):
        raise InvalidInput.field("step", "步骤名无效：只能是 report 或事件的动作名，如 resolve "
                                 "(must be 'report' or an action such as 'resolve')", "bad_step")
    return step


def _check_count(have: set[str], new: list[str], limit: int) -> None:
    """InvalidInput ``too_many_attachments`` when the step would hold more than ``limit``."""
    total = len(have | set(new))
    if total > limit:
        raise InvalidInput(
            f"附件过多：每一步最多 {limit} 个，已有 {len(have)} 个，本次 {len(set(new) - have)} 个 "
            f"(too many attachments: at most {limit} per step)", code="too_many_attachments",
            details=[{"field": "file", "reason": f"at most {limit} attachments per step "
                      f"(每一步最多 {limit} 个)"}])


def _event_step(conn: Connection, event_id: int, step: str, lock: bool) -> int | None:
    """NotFound without the event; the history row ``step`` documents (None for 'report');
    InvalidInput when the event has not taken that step."""
    name = "lock_event" if lock else "event_exists"
    found = conn.execute(q(SQL, name, PKG), {"event_id": event_id}).scalar()
    if not found:
        raise NotFound(f"no event {event_id}", code="event_not_found")
    if step == "report":
        return None
    hid = conn.execute(q(SQL, "latest_step", PKG), {"event_id": event_id, "step": step}).scalar()
    if hid is None:
        raise InvalidInput.field("step", f"事件 {event_id} 还没有“{step}”这一步 (the event has no "
                                 f"step {step!r} yet)", "step_not_taken")
    return hid


def _hashes(conn: Connection, event_id: int, step: str) -> set[str]:
    """Hashes of the attachments a step of the event holds."""
    return set(conn.execute(q(SQL, "step_hashes", PKG),
                            {"event_id": event_id, "step": step}).scalars())


def _row(r: Row) -> AttachmentRow:
    """A database row → AttachmentRow."""
    return AttachmentRow(**r._mapping)


def store_files(engine: Engine, store: MediaStore, settings: Settings, event_id: int,
                files: list[Upload], step: str = "report", uploaded_by: str | None = None,
                *, on_stored: OnStored | None = None) -> list[AttachmentRow]:
    """Check every file (nothing is stored if one is refused), put the stored copies and
    thumbnails into ``store`` and record them; the same bytes twice on one step of an event
    are one attachment. ``on_stored(conn, rows)`` runs in the recording transaction (audit)."""
    check_step(step)
    if not files:
        raise InvalidInput.field("file", "没有文件 (no file was sent)", "no_file")
    lim = limits(settings)
    prepared = [images.prepare(f.filename, f.data, lim, i) for i, f in enumerate(files)]
    shas = [sha256_of(p.data) for p in prepared]
    with engine.connect() as conn:
        _event_step(conn, event_id, step, lock=False)
        _check_count(_hashes(conn, event_id, step), shas, settings.max_attachments)
    thumbs = [store.put(p.thumb) if p.thumb is not None else None for p in prepared]
    for p in prepared:
        store.put(p.data)
    with engine.begin() as conn:
        history_id = _event_step(conn, event_id, step, lock=True)
        _check_count(_hashes(conn, event_id, step), shas, settings.max_attachments)
        for p, sha, thumb in zip(prepared, shas, thumbs, strict=True):
            conn.execute(q(SQL, "insert", PKG), {
                "event_id": event_id, "step": step, "history_id": history_id, "kind": p.kind,
                "media_type": p.media_type, "sha256": sha, "bytes": len(p.data),
                "width": p.width, "height": p.height, "thumb_sha256": thumb,
                "gps_lon": p.gps.lon if p.gps else None, "gps_lat": p.gps.lat if p.gps else None,
                "uploaded_by": uploaded_by})
        found = {r.sha256: _row(r) for r in conn.execute(
            q(SQL, "by_hashes", PKG), {"event_id": event_id, "step": step, "shas": shas})}
        rows = [found[s] for s in dict.fromkeys(shas)]
        if on_stored is not None:
            on_stored(conn, rows)
    return rows


def list_for_event(engine: Engine, event_id: int) -> list[AttachmentRow]:
    """The attachments of an event, oldest first."""
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(q(SQL, "for_event", PKG), {"event_id": event_id})]


def get_row(engine: Engine, attachment_id: int) -> AttachmentRow:
    """One attachment (its ``event_id`` is for the caller's area check); NotFound if none."""
    with engine.connect() as conn:
        r = conn.execute(q(SQL, "by_id", PKG), {"id": attachment_id}).first()
    if r is None:
        raise NotFound(f"no attachment {attachment_id}", code="attachment_not_found")
    return _row(r)


def reported_by(engine: Engine, event_id: int, actor: str) -> bool:
    """True when ``actor`` reported the event within ``REPORTER_WINDOW`` (a phone's report
    that fell outside the reporter's own grids still takes its photos)."""
    with engine.connect() as conn:
        return bool(conn.execute(q(SQL, "reported_by", PKG), {
            "event_id": event_id, "actor": actor,
            "since": datetime.now(UTC) - REPORTER_WINDOW}).scalar())
