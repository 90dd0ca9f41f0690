"""Draw the field app's icons (gis/api/static/m/icons/icon-{192,512}.png) with Pillow.

A blue square (safe for maskable cropping) holding a white 3x3 grid and a red location pin.
Run: ``.venv/bin/python scripts/make_field_icons.py``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "gis" / "api" / "static" / "m" / "icons"
BLUE, WHITE, RED = (13, 91, 215), (255, 255, 255), (224, 49, 49)


def icon(size: int) -> Image.Image:
    """One icon, drawn at 4x and scaled down (smooth edges)."""
    s = size * 4
    img = Image.new("RGB", (s, s), BLUE)
    d = ImageDraw.Draw(img)
    lo, hi = int(s * 0.24), int(s * 0.76)   # inside the maskable safe zone
    w = max(4, s // 40)
    d.rounded_rectangle((lo, lo, hi, hi), radius=s // 30, outline=WHITE, width=w)
    for i in (1, 2):
        x = lo + (hi - lo) * i // 3
        d.line((x, lo, x, hi), fill=WHITE, width=w // 2 + 1)
        d.line((lo, x, hi, x), fill=WHITE, width=w // 2 + 1)
    cx, cy, r = s // 2, int(s * 0.45), int(s * 0.1)   # the pin: a disc and a point below it
    d.polygon([(cx - r * 0.85, cy + r * 0.5), (cx + r * 0.85, cy + r * 0.5), (cx, cy + r * 2.1)],
              fill=RED)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=RED, outline=WHITE, width=w // 2)
    d.ellipse((cx - r // 3, cy - r // 3, cx + r // 3, cy + r // 3), fill=WHITE)
    return img.resize((size, size), Image.LANCZOS)


def main() -> None:
    """Write both sizes."""
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size).save(OUT / f"icon-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
