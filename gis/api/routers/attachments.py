"""/api/v1/events/{event_id}/attachments and /api/v1/attachments/{id}: photos and voice notes
of events, stored and served only to those who may see the event (others: 404, as if none)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from gis.access import auth
from gis.access.auth import Principal
from gis.api import deps
from gis.api.attachment_models import AttachmentList, AttachmentOut
from gis.api.params import Id
from gis.errors import NotFound, WanggeError
from gis.intake import attachments, events
from gis.intake.attachments import AttachmentRow, Upload
from gis.media.store import MediaStore
from gis.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["attachments"])

MAX_AGE_S = 3600
_MEDIA = ("image/jpeg", "image/png", "image/webp", "audio/mp4", "audio/webm", "audio/ogg",
          "audio/mpeg", "audio/aac", "audio/wav", "audio/amr")
_BYTES_DOC: dict[int | str, dict[str, Any]] = {200: {
    "description": "The stored bytes (photos without EXIF) with their type; with "
                   "`Accept: application/json` first, the attachment's record instead.",
    "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in _MEDIA}}}
_THUMB_DOC: dict[int | str, dict[str, Any]] = {200: {
    "description": "A JPEG thumbnail; with `Accept: application/json` first, the record.",
    "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}}


def answer(row: AttachmentRow) -> AttachmentOut:
    """The public form of an attachment, with its URLs."""
    url = f"/api/v1/attachments/{row.id}"
    gps = ({"lon": row.gps_lon, "lat": row.gps_lat}
           if row.gps_lon is not None and row.gps_lat is not None else None)
    return AttachmentOut.model_validate({
        "id": row.id, "event_id": row.event_id, "step": row.step, "history_id": row.history_id,
        "kind": row.kind, "media_type": row.media_type, "bytes": row.bytes,
        "width": row.width, "height": row.height, "sha256": row.sha256, "url": url,
        "thumb_url": url + "/thumb" if row.thumb_sha256 else None, "gps": gps,
        "uploaded_at": row.uploaded_at})


def _see_event(engine: Engine, event_id: int, who: Principal) -> None:
    """Hidden / NotFound (``event_not_found``) unless ``who`` may read the event (the rule of
    GET /api/v1/events/{id}; a refusal is audited there)."""
    events.get_event(engine, event_id, with_history=False, who=who)


def _visible_row(engine: Engine, attachment_id: int, who: Principal) -> AttachmentRow:
    """The attachment, or ``attachment_not_found`` alike when missing and when its event is
    outside what ``who`` may see."""
    missing = NotFound(f"no attachment {attachment_id} (附件不存在)", code="attachment_not_found")
    try:
        row = attachments.get_row(engine, attachment_id)
        _see_event(engine, row.event_id, who)
    except NotFound:
        raise missing from None
    return row


def _store(engine: Engine, media: MediaStore, settings: Settings, event_id: int,
           files: list[Upload], step: str, who: Principal) -> list[AttachmentRow]:
    """Area check (the event's reporter may add the report's own photos), then store; the
    write and every refusal are audited."""
    if not (step == "report" and attachments.reported_by(engine, event_id, who.actor)):
        _see_event(engine, event_id, who)

    def audit(conn: Connection, rows: list[AttachmentRow]) -> None:
        auth.audit(conn, who, "attachment.create", f"event:{event_id}", "ok",
                   {"step": step, "ids": [r.id for r in rows]})

    try:
        return attachments.store_files(engine, media, settings, event_id, files, step,
                                       who.actor, on_stored=audit)
    except WanggeError as e:
        why = auth.refusal(e)
        auth.audit_now(engine, who, "attachment.create", f"event:{event_id}", why.outcome,
                       {"code": why.code, "step": step})
        raise


@router.post("/events/{event_id}/attachments", status_code=201, response_model=AttachmentList,
             summary="Add photos or voice notes to an event (a report or a later step)")
async def post_attachments(
    event_id: Id,
    file: Annotated[list[UploadFile], File(description="One or more photos (JPEG, PNG, "
                                           "WebP) or voice notes; the type is read from "
                                           "the bytes.")],
    step: Annotated[str, Form(max_length=32, description="'report' or the action the files "
                              "document, e.g. 'resolve'")] = "report",
    who: Principal = Depends(deps.current), engine: Engine = Depends(deps.engine),
    settings: Settings = Depends(deps.settings), media: MediaStore = Depends(deps.media),
) -> dict[str, Any]:
    """Store the files (all or none) on the event the caller may see; the same bytes twice
    on one step are one attachment."""
    uploads = [Upload(f.filename or "", f.content_type, await f.read()) for f in file]
    rows = await run_in_threadpool(_store, engine, media, settings, event_id, uploads, step, who)
    return {"attachments": [answer(r) for r in rows]}


@router.get("/events/{event_id}/attachments", response_model=AttachmentList,
            summary="The photos and voice notes of an event")
def list_attachments(event_id: Id, who: Principal = Depends(deps.current),
                     engine: Engine = Depends(deps.engine)) -> dict[str, Any]:
    """Every attachment of the event, oldest first (404 when the caller may not see it)."""
    _see_event(engine, event_id, who)
    return {"attachments": [answer(r) for r in attachments.list_for_event(engine, event_id)]}


def _wants_json(request: Request) -> bool:
    """True when the first type the client accepts is JSON."""
    first = request.headers.get("accept", "").split(",")[0].split(";")[0].strip().lower()
    return first == "application/json"


def _serve(request: Request, media: MediaStore, sha: str, media_type: str) -> Response:
    """Stored bytes with their type, private caching and the hash as ETag (304 if unchanged)."""
    headers = {"Cache-Control": f"private, max-age={MAX_AGE_S}", "ETag": f'"{sha}"',
               "X-Content-Type-Options": "nosniff", "Content-Disposition": "inline"}
    if request.headers.get("if-none-match", "").strip() in (sha, f'"{sha}"'):
        return Response(status_code=304, headers=headers)
    try:
        data = media.get(sha)
    except NotFound:
        raise NotFound("附件文件不在存储中 (the attachment's file is missing from the media "
                       "store)", code="attachment_not_found") from None
    return Response(data, media_type=media_type, headers=headers)


@router.get("/attachments/{attachment_id}", response_model=AttachmentOut, responses=_BYTES_DOC,
            summary="An attachment's stored bytes (or its record)")
def get_attachment(attachment_id: Id, request: Request, who: Principal = Depends(deps.current),
                   engine: Engine = Depends(deps.engine),
                   media: MediaStore = Depends(deps.media)) -> Any:
    """The stored copy, to those who may see the event; 404 ``attachment_not_found`` to
    others, as for an id that does not exist."""
    row = _visible_row(engine, attachment_id, who)
    if _wants_json(request):
        return answer(row)
    return _serve(request, media, row.sha256, row.media_type)


@router.get("/attachments/{attachment_id}/thumb", response_model=AttachmentOut,
            responses=_THUMB_DOC, summary="A photo's thumbnail (JPEG)")
def get_thumbnail(attachment_id: Id, request: Request, who: Principal = Depends(deps.current),
                  engine: Engine = Depends(deps.engine),
                  media: MediaStore = Depends(deps.media)) -> Any:
    """The thumbnail of a photo (voice notes have none: 404 ``no_thumbnail``)."""
    row = _visible_row(engine, attachment_id, who)
    if _wants_json(request):
        return answer(row)
    if row.thumb_sha256 is None:
        raise NotFound(f"attachment {attachment_id} has no thumbnail (语音没有缩略图)",
                       code="no_thumbnail")
    return _serve(request, media, row.thumb_sha256, "image/jpeg")
