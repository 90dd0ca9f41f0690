"""Photos and voice notes on events over HTTP: stored from their bytes without EXIF, limits,
and served only to those who may see the event (others get the 404 of a missing id)."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import ExifTags, Image
from sqlalchemy import text
from support.workflow import G1, W1, W2, bearer, grid_point


def jpeg(color: tuple[int, int, int] = (200, 30, 30), gps: bool = True) -> bytes:
    """A 640×480 JPEG with a camera make and an EXIF GPS position (31°18'36" N, 120°36' E)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    if gps:
        g = exif.get_ifd(ExifTags.IFD.GPSInfo)
        g[ExifTags.GPS.GPSLatitudeRef], g[ExifTags.GPS.GPSLatitude] = "N", (31.0, 18.0, 36.0)
        g[ExifTags.GPS.GPSLongitudeRef], g[ExifTags.GPS.GPSLongitude] = "E", (120.0, 36.0, 0.0)
    out = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(out, format="JPEG", exif=exif)
    return out.getvalue()




@pytest.fixture()
def event_id(client, engine) -> int:
    """An event reported in grid G1."""
    lon, lat = grid_point(engine, G1)
    r = client.post("/api/v1/events", json={"item": "safety.road", "lon": lon, "lat": lat})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def upload(client, event_id: int, *files: tuple[str, bytes, str], step: str | None = None,
           headers: dict[str, str] | None = None):
    """POST the files (name, bytes, content type) to the event's attachments."""
    return client.post(f"/api/v1/events/{event_id}/attachments",
                       files=[("file", f) for f in files],
                       data={"step": step} if step else None, headers=headers)


def test_a_grid_worker_uploads_a_photo_whose_served_copy_has_no_exif(client, engine, event_id):
    worker = bearer(engine, "grid_worker", worker=W1)
    r = upload(client, event_id, ("IMG_0001.jpg", jpeg(), "image/jpeg"), headers=worker)
    assert r.status_code == 201, r.text
    (a,) = r.json()["attachments"]
    assert a["event_id"] == event_id and a["step"] == "report" and a["kind"] == "photo"
    assert (a["media_type"], a["width"], a["height"]) == ("image/jpeg", 640, 480)
    assert a["gps"] == {"lon": 120.6, "lat": 31.31}
    assert a["url"] == f"/api/v1/attachments/{a['id']}" and a["thumb_url"] == a["url"] + "/thumb"
    got = client.get(a["url"], headers=worker)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.headers["etag"].strip('"') == a["sha256"] and len(got.content) == a["bytes"]
    assert got.headers["cache-control"].startswith("private, max-age=")
    served = Image.open(io.BytesIO(got.content))
    assert dict(served.getexif()) == {} and "exif" not in served.info
    assert b"TestCam" not in got.content and b"Exif" not in got.content
    thumb = client.get(a["thumb_url"], headers=worker)
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.content)).size) == 320
    again = client.get(a["url"], headers=worker | {"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304
    listed = client.get(f"/api/v1/events/{event_id}/attachments", headers=worker).json()
    assert listed["attachments"] == [a]
    with engine.connect() as conn:
        row = conn.execute(text("SELECT gps_lon, gps_lat, uploaded_by FROM attachment")).one()
        audit = conn.execute(text("SELECT outcome FROM audit_log WHERE action = "
                                  "'attachment.create'")).scalars().all()
    assert tuple(row) == (120.6, 31.31, W1) and audit == ["ok"]


def test_the_same_bytes_twice_are_one_attachment(client, event_id):
    photo = ("a.jpg", jpeg(), "image/jpeg")
    first = upload(client, event_id, photo).json()["attachments"]
    second = upload(client, event_id, photo, photo).json()["attachments"]
    assert first == second and len(first) == 1
    assert len(client.get(f"/api/v1/events/{event_id}/attachments").json()["attachments"]) == 1


def test_a_text_file_named_photo_jpg_is_not_an_image(client, event_id):
    r = upload(client, event_id, ("photo.jpg", b"just some text, no picture\n" * 20,
                                  "image/jpeg"))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "not_an_image" and "photo.jpg" in err["message"]
    assert err["details"][0]["field"] == "file[0]"


def test_nothing_is_stored_when_one_of_the_files_is_refused(client, event_id):
    r = upload(client, event_id, ("good.jpg", jpeg(), "image/jpeg"),
               ("bad.jpg", b"not a picture" * 10, "image/jpeg"))
    assert r.status_code == 422 and "bad.jpg" in r.json()["error"]["message"]
    assert client.get(f"/api/v1/events/{event_id}/attachments").json()["attachments"] == []


@pytest.fixture()
def strict(settings, client):
    """A TestClient on its own app with small limits: photos ≤ 2000 bytes, 2 per step."""
    from wangge.app import create_app

    app = create_app(settings.model_copy(update={"max_photo_bytes": 2000, "max_attachments": 2}),
                     listen=False)
    with TestClient(app) as c:
        c.headers["Authorization"] = client.headers["Authorization"]
        yield c


def small_png(i: int) -> bytes:
    """A tiny PNG, different for each ``i``."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (i, 0, 0)).save(out, format="PNG")
    return out.getvalue()


def test_an_oversized_photo_is_refused_with_the_limit(strict, event_id):
    big = jpeg()
    assert len(big) > 2000
    r = upload(strict, event_id, ("big.jpg", big, "image/jpeg"))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "photo_too_large" and "big.jpg" in err["message"]
    assert "2000" in err["message"]


def test_more_than_max_attachments_on_one_step_is_refused(strict, event_id):
    assert upload(strict, event_id, ("1.png", small_png(1), "image/png")).status_code == 201
    r = upload(strict, event_id, ("2.png", small_png(2), "image/png"),
               ("3.png", small_png(3), "image/png"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_attachments"
    assert upload(strict, event_id, ("2.png", small_png(2), "image/png")).status_code == 201


def test_another_grids_worker_gets_the_404_of_a_missing_id(client, engine, event_id):
    a = upload(client, event_id, ("a.jpg", jpeg(), "image/jpeg")).json()["attachments"][0]
    other = bearer(engine, "grid_worker", worker=W2)
    base = f"/api/v1/events/{event_id}/attachments"
    r = upload(client, event_id, ("b.jpg", jpeg((0, 0, 200)), "image/jpeg"), headers=other)
    missing_event = client.get("/api/v1/events/987654321/attachments")
    assert r.status_code == 404 and r.json()["error"]["code"] == "event_not_found"
    assert client.get(base, headers=other).status_code == 404
    assert client.get(base, headers=other).json()["error"]["code"] == \
        missing_event.json()["error"]["code"]
    for path in (a["url"], a["thumb_url"]):
        hidden = client.get(path, headers=other)
        nothing = client.get(path.replace(f"/{a['id']}", "/987654321"), headers=other)
        assert hidden.status_code == nothing.status_code == 404
        assert hidden.json()["error"]["code"] == "attachment_not_found"
        assert hidden.json()["error"]["code"] == nothing.json()["error"]["code"]
        assert hidden.json()["error"]["message"].replace(str(a["id"]), "N") == \
            nothing.json()["error"]["message"].replace("987654321", "N")
    planner = bearer(engine, "planner")
    assert client.get(a["url"], headers=planner).status_code == 404
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM attachment")).scalar()
    assert n == 1


def test_the_district_centre_and_the_community_dispatcher_can_download(client, engine, event_id):
    worker = bearer(engine, "grid_worker", worker=W1)
    a = upload(client, event_id, ("a.jpg", jpeg(), "image/jpeg"),
               headers=worker).json()["attachments"][0]
    assert client.get(a["url"]).status_code == 200  # the district centre
    community = bearer(engine, "community_dispatcher", area=G1[:12])
    assert client.get(a["thumb_url"], headers=community).status_code == 200
    record = client.get(a["url"], headers={"Accept": "application/json"})
    assert record.json() == a


def test_a_photo_of_the_result_is_linked_to_the_resolve_step(client, engine, event_id):
    base = f"/api/v1/events/{event_id}"
    r = upload(client, event_id, ("done.jpg", jpeg((0, 150, 0)), "image/jpeg"), step="resolve")
    assert r.status_code == 422 and r.json()["error"]["code"] == "step_not_taken"
    for action in ("accept", "dispatch", "resolve"):
        assert client.post(base + "/transitions", json={"action": action}).status_code == 200
    r = upload(client, event_id, ("done.jpg", jpeg((0, 150, 0)), "image/jpeg"), step="resolve")
    assert r.status_code == 201, r.text
    a = r.json()["attachments"][0]
    with engine.connect() as conn:
        hid = conn.execute(text("SELECT id FROM event_history WHERE event_id = :e AND "
                                "action = 'resolve'"), {"e": event_id}).scalar()
    assert a["step"] == "resolve" and a["history_id"] == hid
    assert upload(client, event_id, ("x.jpg", jpeg(), "image/jpeg"),
                  step="Resolve!").json()["error"]["code"] == "bad_step"


def test_a_voice_note_is_stored_without_a_thumbnail(client, event_id):
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 1600)
    r = upload(client, event_id, ("note.wav", out.getvalue(), "audio/wav"))
    assert r.status_code == 201, r.text
    a = r.json()["attachments"][0]
    assert (a["kind"], a["media_type"], a["thumb_url"], a["gps"]) == ("voice", "audio/wav",
                                                                     None, None)
    got = client.get(a["url"])
    assert got.content == out.getvalue() and got.headers["content-type"] == "audio/wav"
    assert client.get(a["url"] + "/thumb").json()["error"]["code"] == "no_thumbnail"


def test_a_worker_adds_photos_to_their_own_report_that_fell_outside_their_grids(client, engine):
    w2 = bearer(engine, "grid_worker", worker=W2)
    lon, lat = grid_point(engine, G1)  # W1's grid, not W2's
    r = client.post("/api/v1/events", json={"item": "safety.road", "lon": lon, "lat": lat,
                                             "source": "worker"}, headers=w2)
    assert r.status_code == 201, r.text
    own = r.json()["id"]
    assert upload(client, own, ("a.jpg", jpeg(), "image/jpeg"), headers=w2).status_code == 201
    # reading the event's photos, or adding a later step's, stays within the area rule
    assert client.get(f"/api/v1/events/{own}/attachments", headers=w2).status_code == 404
    later = upload(client, own, ("b.jpg", jpeg((0, 90, 0)), "image/jpeg"), step="resolve",
                   headers=w2)
    assert later.status_code == 404
    # someone else's report outside W2's grids: still the 404 of a missing event
    other = client.post("/api/v1/events", json={"item": "safety.road", "lon": lon, "lat": lat})
    r = upload(client, other.json()["id"], ("c.jpg", jpeg((9, 9, 9)), "image/jpeg"), headers=w2)
    assert r.status_code == 404 and r.json()["error"]["code"] == "event_not_found"
