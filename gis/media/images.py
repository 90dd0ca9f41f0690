"""Photos and voice notes checked from their bytes: the type (never the name or the sender's
content type), the size limits, the EXIF GPS hint, a stored copy without metadata, thumbnails.

Photos are JPEG, PNG or WebP, decoded by Pillow; voice notes are AAC, M4A/MP4, MP3, Ogg/Opus,
WebM, WAV or AMR, recognised by ``filetype`` from their first bytes and kept as sent.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Literal

import filetype
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from gis.errors import InvalidInput

PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# what filetype names → the media type a voice note is stored and served with
VOICE_TYPES = {
    "audio/aac": "audio/aac", "audio/mp4": "audio/mp4", "audio/mpeg": "audio/mpeg",
    "audio/ogg": "audio/ogg", "audio/x-wav": "audio/wav", "audio/amr": "audio/amr",
    "video/webm": "audio/webm", "video/mp4": "audio/mp4",  # MediaRecorder's containers
}
# A photo of more pixels is refused before it is decoded (a small file can claim a huge image:
# a decompression bomb); 60 MP is above any phone camera's full-size picture.
MAX_PIXELS = 60_000_000
THUMB_TYPE = "image/jpeg"

Kind = Literal["photo", "voice"]


@dataclass(frozen=True)
class GpsHint:
    """Where the photo says it was taken (EXIF GPS, WGS84 degrees): a hint, never trusted."""

    lon: float
    lat: float


@dataclass(frozen=True)
class Prepared:
    """A checked file ready for the store: the bytes to keep and what was learned of it."""

    name: str
    kind: Kind
    media_type: str
    data: bytes
    width: int | None = None
    height: int | None = None
    thumb: bytes | None = None
    gps: GpsHint | None = None


@dataclass(frozen=True)
class Limits:
    """The size limits and thumbnail size in force (from the settings)."""

    max_photo_bytes: int
    max_voice_bytes: int
    thumb_px: int


def safe_name(filename: str | None, index: int = 0) -> str:
    """A file name fit to quote in a message: its last path part, no control characters,
    at most 60 characters; ``文件N`` when there is none."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] not in ("C", "Z") or c == " ")
    base = base.strip()[:60]
    return base or f"文件{index + 1}"


def _refuse(name: str, field: str, code: str, zh: str, en: str) -> InvalidInput:
    """The error of one refused file (Chinese first, then English)."""
    reason = f"{zh} ({en})"
    return InvalidInput(f"「{name}」{reason}", code=code,
                        details=[{"field": field, "reason": f"「{name}」{reason}"}])


def _mb(n: int) -> str:
    """Bytes as megabytes for a message: 8000000 → '8 MB'."""
    return f"{n / 1_000_000:g} MB"


def sniff(data: bytes, name: str, field: str = "file") -> tuple[Kind, str]:
    """(kind, media type) of ``data`` from its bytes; InvalidInput ``not_an_image`` when it is
    no image or sound at all, ``unsupported_media`` for another image or sound format."""
    guess = filetype.guess(data[:8192]) if data else None
    mime = guess.mime if guess else None
    if mime in PHOTO_TYPES.values():
        return "photo", mime
    if mime in VOICE_TYPES:
        return "voice", VOICE_TYPES[mime]
    if mime and mime.split("/")[0] in ("image", "audio", "video"):
        raise _refuse(name, field, "unsupported_media",
                      f"的格式 {mime} 不受支持：照片请用 JPEG、PNG 或 WebP",
                      f"format {mime} is not accepted: photos must be JPEG, PNG or WebP; voice "
                      "notes AAC, M4A, MP3, Ogg, WebM, WAV or AMR")
    raise _refuse(name, field, "not_an_image", "不是图片（JPEG、PNG、WebP）也不是语音",
                  "is not a JPEG, PNG or WebP image, nor a voice note")


def read_gps(img: Image.Image) -> GpsHint | None:
    """The EXIF GPS position of an opened image, WGS84 decimal degrees; None if absent or
    out of range."""
    try:
        gps = img.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
        lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude),
                       gps.get(ExifTags.GPS.GPSLongitudeRef))
    except (ValueError, TypeError, ZeroDivisionError, KeyError, AttributeError, OSError):
        return None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:  # a phone without a fix writes zeros
        return None
    return GpsHint(lon=round(lon, 7), lat=round(lat, 7))


def _degrees(dms: object, ref: object) -> float | None:
    """EXIF (degrees, minutes, seconds) rationals and N/S/E/W → signed decimal degrees."""
    if not isinstance(dms, (tuple, list)) or not dms:
        return None
    parts = [float(v) for v in dms][:3]
    while len(parts) < 3:
        parts.append(0.0)
    value = parts[0] + parts[1] / 60 + parts[2] / 3600
    if not math.isfinite(value):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return -value if isinstance(ref, str) and ref.strip().upper() in ("S", "W") else value


def _open(data: bytes, name: str, field: str) -> Image.Image:
    """The photo opened (header only), refused when undecodable or of too many pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=list(PHOTO_TYPES))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(name, field) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _refuse(name, field, "not_an_image", "无法解码为图片，文件可能已损坏",
                      "cannot be decoded as an image; the file may be damaged") from None
    if img.width * img.height > MAX_PIXELS:
        raise _too_many_pixels(name, field)
    return img


def _too_many_pixels(name: str, field: str) -> InvalidInput:
    """A photo claiming more pixels than any camera takes."""
    return _refuse(name, field, "photo_too_many_pixels",
                   f"像素过多，上限为 {MAX_PIXELS // 1_000_000} 百万像素",
                   f"has too many pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels")


def _encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    """``img`` encoded as ``fmt`` with only the given parameters (no EXIF, XMP or text)."""
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def clean_copy(upright: Image.Image, fmt: str, icc: bytes | None = None) -> bytes:
    """An upright photo re-encoded as ``fmt`` with no EXIF, XMP, comment or text chunk left
    (the colour profile ``icc`` is kept: it is colour, not metadata)."""
    params: dict[str, object] = {"icc_profile": icc} if icc else {}
    img = upright
    if fmt == "JPEG":
        if img.mode not in ("RGB", "L", "CMYK"):
            img = img.convert("RGB")
        params |= {"quality": 88, "optimize": True}
    elif fmt == "PNG":
        if "transparency" in img.info:
            params["transparency"] = img.info["transparency"]
        params["optimize"] = True
    else:
        params |= {"quality": 85}
    img.info = {}
    return _encode(img, fmt, **params)


def thumbnail(upright: Image.Image, px: int) -> bytes:
    """A JPEG of an upright photo whose longest side is at most ``px`` (transparency on
    white), without metadata."""
    thumb = upright.copy()
    thumb.thumbnail((px, px))
    if thumb.mode in ("RGBA", "LA", "P", "PA"):
        rgba = thumb.convert("RGBA")
        thumb = Image.new("RGB", rgba.size, "white")
        thumb.paste(rgba, mask=rgba.getchannel("A"))
    elif thumb.mode != "RGB":
        thumb = thumb.convert("RGB")
    thumb.info = {}
    return _encode(thumb, "JPEG", quality=80, optimize=True)


def _photo(data: bytes, name: str, field: str, limits: Limits) -> Prepared:
    """A photo decoded, turned upright, copied without metadata and thumbnailed."""
    img = _open(data, name, field)
    fmt = img.format or "JPEG"
    try:
        gps = read_gps(img)
        upright = ImageOps.exif_transpose(img)
        stored = clean_copy(upright, fmt, img.info.get("icc_profile"))
        thumb = thumbnail(upright, limits.thumb_px)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise _refuse(name, field, "not_an_image", "无法解码为图片，文件可能已损坏",
                      "cannot be decoded as an image; the file may be damaged") from None
    return Prepared(name, "photo", PHOTO_TYPES[fmt], stored, upright.width, upright.height,
                    thumb, gps)


def prepare(filename: str | None, data: bytes, limits: Limits, index: int = 0) -> Prepared:
    """Check one file from its bytes and make what is stored: InvalidInput (naming the file
    and the limit) when it is no photo or voice note, or too large."""
    name, field = safe_name(filename, index), f"file[{index}]"
    if not data:
        raise _refuse(name, field, "empty_file", "是空文件", "is empty")
    kind, media_type = sniff(data, name, field)
    if kind == "voice":
        if len(data) > limits.max_voice_bytes:
            raise _refuse(name, field, "voice_too_large",
                          f"太大（{_mb(len(data))}），语音上限为 {_mb(limits.max_voice_bytes)}",
                          f"is too large ({len(data)} bytes); the limit for a voice note is "
                          f"{limits.max_voice_bytes} bytes")
        return Prepared(name, "voice", media_type, data)
    if len(data) > limits.max_photo_bytes:
        raise _refuse(name, field, "photo_too_large",
                      f"太大（{_mb(len(data))}），照片上限为 {_mb(limits.max_photo_bytes)}",
                      f"is too large ({len(data)} bytes); the limit for a photo is "
                      f"{limits.max_photo_bytes} bytes")
    return _photo(data, name, field, limits)
