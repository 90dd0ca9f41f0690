"""The media store: photos and voice notes kept by the SHA-256 of their bytes, and the checks
and re-encoding that come before (type from the bytes, limits, EXIF GPS hint, no metadata)."""
