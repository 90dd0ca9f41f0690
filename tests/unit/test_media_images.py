"""Photos and voice notes checked from their bytes: type, limits, EXIF GPS, a stored copy
without metadata, thumbnails, decompression bombs."""

from __future__ import annotations

import io
import wave

import pytest
from PIL import ExifTags, Image

from gis.errors import InvalidInput
from gis.media import images

LIMITS = images.Limits(max_photo_bytes=8_000_000, max_voice_bytes=2_000_000, thumb_px=320)


def photo(fmt: str = "JPEG", size: tuple[int, int] = (800, 600), gps: bool = True,
          orientation: int | None = None) -> bytes:
    """A photo in ``fmt`` with an EXIF camera make, optionally a GPS position near Suzhou
    (31°18'36" N, 120°36'0" E) and an orientation tag."""
    img = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        g = exif.get_ifd(ExifTags.IFD.GPSInfo)
        g[ExifTags.GPS.GPSLatitudeRef] = "N"
        g[ExifTags.GPS.GPSLatitude] = (31.0, 18.0, 36.0)
        g[ExifTags.GPS.GPSLongitudeRef] = "E"
        g[ExifTags.GPS.GPSLongitude] = (120.0, 36.0, 0.0)
    out = io.BytesIO()
    img.save(out, format=fmt, exif=exif)
    return out.getvalue()


def wav(seconds: float = 0.2) -> bytes:
    """A short silent WAV voice note."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * int(8000 * seconds))
    return out.getvalue()


def refused(name: str, data: bytes, limits: images.Limits = LIMITS) -> InvalidInput:
    """The error ``prepare`` raises for this file."""
    with pytest.raises(InvalidInput) as e:
        images.prepare(name, data, limits)
    return e.value


@pytest.mark.parametrize("fmt,media_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                            ("WEBP", "image/webp")])
def test_each_photo_format_is_told_from_its_bytes_not_its_name(fmt, media_type) -> None:
    p = images.prepare("voice.mp3", photo(fmt), LIMITS)
    assert (p.kind, p.media_type, p.width, p.height) == ("photo", media_type, 800, 600)


def test_a_text_file_named_like_a_photo_is_not_an_image() -> None:
    e = refused("photo.jpg", b"hello, I am not a picture at all\n" * 10)
    assert e.code == "not_an_image"
    assert "photo.jpg" in e.message and e.message.startswith("「photo.jpg」不是图片")
    assert e.details[0]["field"] == "file[0]"


def test_a_gif_is_an_unsupported_format_and_a_broken_jpeg_is_not_an_image() -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="GIF")
    assert refused("a.gif", out.getvalue()).code == "unsupported_media"
    assert refused("cut.jpg", photo()[:200]).code == "not_an_image"


def test_an_oversized_photo_is_refused_naming_the_file_and_the_limit() -> None:
    data = photo()
    small = images.Limits(max_photo_bytes=len(data) - 1, max_voice_bytes=10_000, thumb_px=64)
    e = refused("big.jpg", data, small)
    assert e.code == "photo_too_large"
    assert "big.jpg" in e.message and str(len(data) - 1) in e.message


def test_exif_gps_is_read_as_decimal_degrees_and_south_west_are_negative() -> None:
    p = images.prepare("a.jpg", photo(), LIMITS)
    assert p.gps == images.GpsHint(lon=120.6, lat=31.31)
    img = Image.open(io.BytesIO(photo()))
    exif = img.getexif()
    g = exif.get_ifd(ExifTags.IFD.GPSInfo)
    g[ExifTags.GPS.GPSLatitudeRef], g[ExifTags.GPS.GPSLongitudeRef] = "S", "W"
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    assert images.prepare("b.jpg", out.getvalue(), LIMITS).gps == images.GpsHint(-120.6, -31.31)
    assert images.prepare("c.jpg", photo(gps=False), LIMITS).gps is None


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_the_stored_copy_has_no_exif_and_no_gps(fmt) -> None:
    data = photo(fmt)
    assert b"TestCam" in data and Image.open(io.BytesIO(data)).getexif()
    p = images.prepare("a", data, LIMITS)
    stored = Image.open(io.BytesIO(p.data))
    assert dict(stored.getexif()) == {}
    assert "exif" not in stored.info and b"TestCam" not in p.data and b"Exif" not in p.data
    assert images.read_gps(stored) is None
    assert b"TestCam" not in p.thumb and b"Exif" not in p.thumb


def test_the_exif_orientation_is_applied_before_the_exif_is_dropped() -> None:
    p = images.prepare("a.jpg", photo(orientation=6), LIMITS)  # 6: turn 90° clockwise
    assert (p.width, p.height) == (600, 800)
    assert Image.open(io.BytesIO(p.data)).size == (600, 800)


def test_the_thumbnail_is_a_jpeg_whose_longest_side_is_thumb_px() -> None:
    p = images.prepare("a.png", photo("PNG", size=(1000, 400)), LIMITS)
    thumb = Image.open(io.BytesIO(p.thumb))
    assert thumb.format == "JPEG" and thumb.size == (320, 128)
    small = images.prepare("s.png", photo("PNG", size=(100, 50)), LIMITS)
    assert Image.open(io.BytesIO(small.thumb)).size == (100, 50)  # never enlarged


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, format="PNG")  # 100 MP in a few kilobytes
    assert len(out.getvalue()) < 100_000
    e = refused("bomb.png", out.getvalue())
    assert e.code == "photo_too_many_pixels" and "bomb.png" in e.message


def test_a_voice_note_is_kept_as_sent_and_has_its_own_limit() -> None:
    data = wav()
    p = images.prepare("note.jpg", data, LIMITS)
    assert (p.kind, p.media_type, p.data, p.thumb, p.gps) == ("voice", "audio/wav", data,
                                                              None, None)
    m4a = b"\0\0\0\x20ftypM4A \0\0\0\0M4A mp42isom" + b"\0" * 64
    assert images.prepare("n.m4a", m4a, LIMITS).media_type == "audio/mp4"
    e = refused("long.wav", data, images.Limits(8_000_000, len(data) - 1, 320))
    assert e.code == "voice_too_large" and "long.wav" in e.message


def test_file_names_in_messages_are_sanitized() -> None:
    assert images.safe_name("../../etc/pass\nwd.jpg") == "passwd.jpg"
    assert images.safe_name("C:\\Users\\x\\照片.jpg") == "照片.jpg"
    assert images.safe_name("", 2) == "文件3"
    assert len(images.safe_name("a" * 500)) == 60
