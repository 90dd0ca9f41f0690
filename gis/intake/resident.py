"""Resident reports (群众上报): stored through the one intake path with a tracking code, rate
limited per sender address and per phone number; their status and points read by that code.

Residents have no account. What ties a resident to a report is the tracking code they are
shown once (and, optionally, the phone number they gave, to which points are credited). The
sender's address is never stored: only a keyed hash of it (``client_key``), for the rate limit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis import calendar
from gis.clock import CST
from gis.db.queries import q
from gis.errors import InvalidInput, NotFound, TooMany
from gis.intake import attachments, catalogue, events
from gis.intake.attachments import Upload
from gis.media import images
from gis.media.store import MediaStore
from gis.settings import Settings
from gis.territory import people
from gis.territory.locator import Locator

log = logging.getLogger(__name__)
SQL = "resident.sql"
PKG = "gis.intake.sql"
# Tracking codes: no 0/O, 1/I/L, so a code read aloud or copied by hand is never ambiguous.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 9
MAX_DESCRIPTION = 2000
MAX_ADDRESS = 300
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = re.compile(r"[\s\-().]")
_COUNTRY = re.compile(r"^(?:\+86|0086)")  # the country prefix of a mainland number

# What a resident reads of each status and step (Chinese; the page has the English).
STATUS_LABELS = {
    "reported": "已提交，待受理", "accepted": "已受理", "dispatched": "已派遣处理",
    "in_progress": "处理中", "resolved": "已处置", "closed": "已办结",
    "rejected": "不予受理", "duplicate": "已合并（重复上报）", "reopened": "重新处理",
}
STEP_LABELS = {
    "reported": "提交上报", "accept": "已受理", "reject": "不予受理",
    "mark_duplicate": "与已有上报合并", "dispatch": "已派遣处理", "start": "开始处理",
    "resolve": "已处置", "close": "已办结", "reopen": "重新处理", "escalated": "提级办理",
    "whistle": "吹哨报到，部门联合处置",
}
CST_LABEL = "北京时间"
REASONS = {"accepted report": "上报被受理"}


@dataclass(frozen=True)
class ResidentReport:
    """One report from the resident page, as sent (the phone as typed)."""

    item: str
    description: str = ""
    lon: float | None = None
    lat: float | None = None
    building_id: str | None = None
    address: str | None = None
    phone: str | None = None


class Submitted(TypedDict):
    """What a resident is told after reporting (no ids, no worker names)."""

    tracking_code: str
    status: str
    status_label: str
    located: bool
    photos: int
    message: str


class PublicStep(TypedDict):
    """One step of a report's public history (times in China Standard Time)."""

    action: str
    label: str
    status: str | None
    at: datetime
    at_text: str


class PublicStatus(TypedDict):
    """A report as its resident may read it by its tracking code: item, status, public
    history, masked phone."""

    tracking_code: str
    item: str
    item_name: str
    item_name_en: str
    class_name: str
    status: str
    status_label: str
    reported_at: datetime
    reported_at_text: str
    located: bool
    phone: str | None
    photos: int
    history: list[PublicStep]


class ResidentItem(TypedDict):
    """An item a resident may report (Chinese name first)."""

    code: str
    name: str
    name_en: str


class ResidentClass(TypedDict):
    """A class of items, in the catalogue's order."""

    code: str
    name: str
    name_en: str
    items: list[ResidentItem]


class AreaFeature(TypedDict):
    """A GeoJSON feature of the area map: a district or grid outline and its name."""

    type: str
    properties: dict[str, str]
    geometry: dict


class AreaOutlines(TypedDict):
    """The area map as a GeoJSON FeatureCollection (WGS84)."""

    type: str
    features: list[AreaFeature]


class PointsEntry(TypedDict):
    """One award of points."""

    points: int
    awarded_at: datetime
    awarded_at_text: str
    reason: str
    tracking_code: str | None
    item_name: str | None


class PointsBalance(TypedDict):
    """A phone number's points (masked number, balance, awards newest first)."""

    phone: str
    balance: int
    entries: list[PointsEntry]


# -- phone numbers, codes, times -----------------------------------------------------------


def normalize_phone(raw: str | None) -> str | None:
    """A mainland mobile number as 11 digits (spaces, dashes, +86 dropped); None when empty."""
    if raw is None or not raw.strip():
        return None
    digits = _SEPARATORS.sub("", raw.strip())
    digits = _COUNTRY.sub("", digits, count=1)
    if not _MOBILE.fullmatch(digits):
        raise InvalidInput.field("phone", "手机号格式不正确，请输入11位手机号 (not a mobile "
                                 "phone number: 11 digits starting with 1)", "bad_phone")
    return digits


def mask_phone(phone: str | None) -> str | None:
    """138****5678 (the one masking rule, ``gis.territory.people.mask_phone``) for a reporter
    that is a number; a reporter that is no number, such as a worker code, as it is."""
    if not phone or not phone.isdigit():
        return phone
    return people.mask_phone(phone)


def new_tracking_code() -> str:
    """A random tracking code: 9 of 31 unambiguous uppercase letters and digits (~44 bits)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str:
    """A tracking code as typed (spaces, dashes, lower case) → the stored form."""
    return _SEPARATORS.sub("", raw or "").upper()


def cst_text(at: datetime) -> str:
    """'2026-12-04 18:30 (北京时间)': a time as a resident reads it."""
    return at.astimezone(CST).strftime("%Y-%m-%d %H:%M") + f" ({CST_LABEL})"


# -- the key for client addresses ------------------------------------------------------------

_keys: dict[str, bytes] = {}


def key_file(settings: Settings) -> Path:
    """Where the generated key is kept: beside a local media folder (``<folder>.key``), else
    ``./var/wangge.key`` (media in an object store)."""
    url = settings.media_url
    parsed = urlparse(url)
    if parsed.scheme in ("", "file") or len(parsed.scheme) == 1:  # a path (C: on Windows)
        folder = Path(parsed.path if parsed.scheme == "file" else url).expanduser().resolve()
        return folder.parent / (folder.name + ".key")
    return Path("var") / "wangge.key"


def secret_key(settings: Settings) -> bytes:
    """The key of the keyed hashes the platform keeps instead of client addresses.

    ``settings.secret_key`` when set. Otherwise a random 32-byte key is generated once and
    kept in a file beside the media folder (``key_file``; mode 0600, created exclusively so two
    processes starting together agree on one key). A file, not the database: the key must not
    travel with database dumps, and it lives with the other local state of the platform (the
    media). Losing it only resets the rate-limit windows.
    """
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    path = key_file(settings)
    cached = _keys.get(str(path))
    if cached is not None:
        return cached
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    key = path.read_text().strip().encode("ascii")
    if len(key) < 32:
        raise ValueError(f"{path}: the key is too short; delete the file to make a new one")
    _keys[str(path)] = key
    return key


def client_key(settings: Settings, host: str | None) -> str:
    """HMAC-SHA256 of the sender's address under the platform's key (hex)."""
    return hmac.new(secret_key(settings), (host or "unknown").encode("utf-8"),
                    hashlib.sha256).hexdigest()


# -- what the page offers --------------------------------------------------------------------


def items(engine: Engine) -> list[ResidentClass]:
    """Every active item, grouped by class, Chinese names first (no levels or time limits)."""
    return [ResidentClass(code=c["code"], name=c["name_zh"] or c["name"], name_en=c["name"],
                          items=[ResidentItem(code=i["code"], name=i["name_zh"] or i["name"],
                                              name_en=i["name"]) for i in c["items"]])
            for c in catalogue.listing(engine)]


def area(engine: Engine) -> AreaOutlines:
    """The district outline and its grid outlines, to draw the pin map (names only)."""
    with engine.connect() as conn:
        rows = conn.execute(q(SQL, "area_outlines", PKG)).all()
    return AreaOutlines(type="FeatureCollection", features=[
        AreaFeature(type="Feature", properties={"level": r.level, "name": r.name},
                geometry=json.loads(r.geojson)) for r in rows])


# -- reporting ---------------------------------------------------------------------------------


def _check_location(rep: ResidentReport) -> None:
    """A report needs a place: a position (GPS or a pin), a building or an address."""
    has_point = rep.lon is not None or rep.lat is not None
    if has_point:
        if rep.lon is None or rep.lat is None:
            raise InvalidInput.field("lon", "经纬度须同时提供 (lon and lat must be given "
                                     "together)", "bad_location")
        if not (-180 <= rep.lon <= 180 and -90 <= rep.lat <= 90):  # NaN fails too
            raise InvalidInput.field("lon", "经纬度超出范围 (lon/lat out of range)",
                                     "bad_location")
        return
    if not (rep.building_id or (rep.address or "").strip()):
        raise InvalidInput.field("location", "请提供位置：使用定位、在地图上选点或填写地址 "
                                 "(give a location: your position, a pin on the map or an "
                                 "address)", "location_required")


def prepare(engine: Engine, rep: ResidentReport) -> events.Report:
    """Check a resident's report (item, text, place, phone) → the intake's Report."""
    with engine.connect() as conn:
        items = catalogue.active_items(conn)
    if rep.item not in items:
        raise InvalidInput.field("item", "未知的上报事项，请从列表中选择 (unknown item; pick "
                                 "one from the list)", "unknown_item")
    if len(rep.description or "") > MAX_DESCRIPTION:
        raise InvalidInput.field("description", f"描述过长，最多 {MAX_DESCRIPTION} 字 "
                                 f"(description too long: at most {MAX_DESCRIPTION} characters)",
                                 "description_too_long")
    if len(rep.address or "") > MAX_ADDRESS:
        raise InvalidInput.field("address", f"地址过长，最多 {MAX_ADDRESS} 字 (address too "
                                 f"long: at most {MAX_ADDRESS} characters)", "address_too_long")
    _check_location(rep)
    phone = normalize_phone(rep.phone)
    return events.Report(item=rep.item, source="resident", lon=rep.lon, lat=rep.lat,
                         crs="wgs84", building_id=rep.building_id,
                         address=(rep.address or "").strip() or None,
                         description=(rep.description or "").strip(), reporter=phone)


def _check_limits(conn, settings: Settings, ckey: str, phone: str | None,
                  now: datetime) -> None:
    """Refuse a report past the per-address (hour) or per-phone (day) limit; holds the keys'
    locks so that concurrent reports of one sender are counted one after the other."""
    conn.execute(q(SQL, "lock_key", PKG), {"key": "client:" + ckey})
    n = conn.execute(q(SQL, "count_client", PKG),
                     {"client_key": ckey, "since": now - timedelta(hours=1)}).scalar_one()
    limit = settings.resident_per_hour_per_client
    if n >= limit:
        raise TooMany(f"上报过于频繁：每小时最多 {limit} 条，请稍后再试 (too many reports from "
                      f"this network: at most {limit} an hour; try again later)",
                      code="too_many_reports", details=[{"field": "client", "reason": "hour"}])
    if phone is None:
        return
    conn.execute(q(SQL, "lock_key", PKG), {"key": "phone:" + phone})
    n = conn.execute(q(SQL, "count_phone", PKG),
                     {"phone": phone, "since": now - timedelta(days=1)}).scalar_one()
    limit = settings.resident_per_day_per_phone
    if n >= limit:
        raise TooMany(f"该手机号24小时内上报已达 {limit} 条上限，请明天再试 (this phone number "
                      f"has reached {limit} reports in 24 hours; try again tomorrow)",
                      code="too_many_reports", details=[{"field": "phone", "reason": "day"}])


def _insert_code(conn, event_id: int, phone: str | None, ckey: str, now: datetime) -> str:
    """Give the stored event its tracking code (another draw if one is taken)."""
    for _ in range(5):
        code = conn.execute(q(SQL, "insert_report", PKG), {
            "event_id": event_id, "code": new_tracking_code(), "phone": phone,
            "client_key": ckey, "at": now}).scalar()
        if code:
            return code
    raise RuntimeError("no free tracking code after 5 draws")


def check_photos(settings: Settings, photos: list[Upload]) -> None:
    """Refuse, before anything is stored, too many photos or a file that is no photo."""
    if len(photos) > settings.max_attachments:
        n = settings.max_attachments
        raise InvalidInput.field("photo", f"照片过多：最多 {n} 张 (too many photos: at most {n})",
                                 "too_many_attachments")
    lim = attachments.limits(settings)
    for i, f in enumerate(photos):
        if images.prepare(f.filename, f.data, lim, i).kind != "photo":
            raise InvalidInput.field(f"photo[{i}]", "只能上传照片 (only photos can be sent)",
                                     "not_a_photo")


def undo(engine: Engine, event_id: int) -> None:
    """Remove a resident report that could not be completed (its photos failed)."""
    with engine.begin() as conn:
        conn.execute(q(SQL, "delete_event", PKG), {"event_id": event_id})


def submit(engine: Engine, locator: Locator, settings: Settings, rep: ResidentReport,
           host: str | None, photos: list[Upload] | None = None,
           store: MediaStore | None = None) -> Submitted:
    """Store a resident's report with a tracking code, and its photos into ``store``.

    Checks come first (item, text, place, phone, photos, then the rate limits under the
    sender's locks); the event goes through the one intake path (``events.ingest``), the photos
    through ``attachments.store_files``. Should the code or the photos fail after the event was
    stored, it is removed again: a refusal stores nothing half.
    """
    report = prepare(engine, rep)
    photos = photos or []
    check_photos(settings, photos)
    if photos and store is None:
        raise ValueError("photos need a media store")

    def attach(event_id: int) -> int:
        assert store is not None
        return len(attachments.store_files(engine, store, settings, event_id, photos,
                                           step="report", uploaded_by="resident"))

    ckey = client_key(settings, host)
    now = datetime.now(UTC)
    event_id: int | None = None
    try:
        with engine.begin() as conn:
            _check_limits(conn, settings, ckey, report.reporter, now)
            stored = events.ingest(engine, locator, [report],
                                   cal=calendar.district(settings)).events[0]
            event_id = stored["id"]
            code = _insert_code(conn, event_id, report.reporter, ckey, now)
        stored_photos = attach(event_id) if photos else 0
    except BaseException:
        if event_id is not None:
            try:
                undo(engine, event_id)
            except Exception:  # the database went away too: say so, keep the first error
                log.exception("resident report %s could not be undone", event_id)
        raise
    located = stored["location"].get("grid") is not None
    message = f"上报成功！请保存查询码 {code}，凭它查看处理进度 (report received; keep the " \
              f"tracking code {code} to follow it)"
    if not located:
        message += "。位置未能自动确定，工作人员将核实 (the place could not be matched; staff " \
                   "will check it)"
    return Submitted(tracking_code=code, status="reported", status_label=STATUS_LABELS["reported"],
                     located=located, photos=stored_photos, message=message)


# -- reading by tracking code ------------------------------------------------------------------


def _not_found() -> NotFound:
    """The one answer for an unknown code (and for a phone that does not match its code)."""
    return NotFound("未找到该查询码对应的上报，请检查后重试 (no report with this tracking code)",
                    code="report_not_found")


def status(engine: Engine, code: str) -> PublicStatus:
    """A report as its resident may read it: item, status, public steps, masked phone."""
    with engine.connect() as conn:
        row = conn.execute(q(SQL, "report_by_code", PKG),
                           {"code": normalize_code(code)}).mappings().first()
        if row is None:
            raise _not_found()
        steps = conn.execute(q(SQL, "public_history", PKG),
                             {"event_id": row["event_id"], "actions": list(STEP_LABELS)}).all()
    history = [PublicStep(action=s.action, label=STEP_LABELS[s.action], status=s.to_status,
                          at=s.at.astimezone(CST), at_text=cst_text(s.at)) for s in steps]
    return PublicStatus(
        tracking_code=row["tracking_code"], item=row["item_code"],
        item_name=row["item_name_zh"] or row["item_name"], item_name_en=row["item_name"],
        class_name=row["class_name_zh"] or row["class_name"], status=row["status"],
        status_label=STATUS_LABELS.get(row["status"], row["status"]),
        reported_at=row["reported_at"].astimezone(CST),
        reported_at_text=cst_text(row["reported_at"]),
        located=row["location_status"] != "unassigned", phone=mask_phone(row["phone"]),
        photos=int(row["photos"]), history=history)


def points(engine: Engine, phone: str, code: str) -> PointsBalance:
    """A phone number's points, shown only with one of that number's tracking codes."""
    try:
        digits = normalize_phone(phone)
    except InvalidInput:
        raise _not_found() from None
    if digits is None:
        raise _not_found()
    with engine.connect() as conn:
        owned = conn.execute(q(SQL, "code_of_phone", PKG),
                             {"code": normalize_code(code), "phone": digits}).first()
        if owned is None:
            raise _not_found()
        rows = conn.execute(q(SQL, "points_of_phone", PKG), {"phone": digits}).mappings().all()
    entries = [PointsEntry(points=r["points"], awarded_at=r["awarded_at"].astimezone(CST),
                           awarded_at_text=cst_text(r["awarded_at"]),
                           reason=REASONS.get(r["reason"], r["reason"]),
                           tracking_code=r["tracking_code"],
                           item_name=r["item_name_zh"] or r["item_name"]) for r in rows]
    return PointsBalance(phone=mask_phone(digits) or "", balance=sum(e["points"] for e in entries),
                         entries=entries)


def public_reporter(source: str | None, reporter: str | None) -> str | None:
    """The reporter of an event as staff see it: a resident's phone number masked."""
    return mask_phone(reporter) if source == "resident" else reporter


def masked_event(ev: events.EventDetail) -> events.EventDetail:
    """An event as staff read it: a resident's phone number masked as reporter and as the
    actor of its 'reported' step."""
    if ev["source"] != "resident" or not ev["reporter"]:
        return ev
    phone = ev["reporter"]
    out = events.EventDetail(**ev)
    out["reporter"] = mask_phone(phone)
    if "history" in ev:
        out["history"] = [h | {"actor": mask_phone(h["actor"])} if h["actor"] == phone else h
                          for h in ev["history"]]
    return out
