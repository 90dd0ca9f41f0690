"""Where attachment bytes live, by content hash: a local folder or an S3-compatible store.

Keys are ``ab/cd/<sha256>`` (the first two byte pairs fan the files out); putting the same
bytes twice stores them once.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlparse

from gis.errors import InvalidInput, NotFound, Unavailable

SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class MediaNotFound(NotFound):
    """No stored bytes under this hash."""

    code = "media_not_found"


class MediaStore(Protocol):
    """What the platform needs of a store: put by content, get and test by hash."""

    def put(self, data: bytes) -> str:
        """Store ``data``; its SHA-256 (hex). Idempotent."""
        ...

    def get(self, sha: str) -> bytes:
        """The bytes stored under ``sha``; MediaNotFound when there are none."""
        ...

    def exists(self, sha: str) -> bool:
        """True when bytes are stored under ``sha``."""
        ...


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def key_of(sha: str) -> str:
    """The store key of a hash: ``ab/cd/abcd...``; MediaNotFound for anything not a hash."""
    if not isinstance(sha, str) or not SHA_RE.match(sha):
        raise MediaNotFound("no such media (not a SHA-256)")
    return f"{sha[:2]}/{sha[2:4]}/{sha}"


class LocalStore:
    """A folder on this machine; each file written to a temporary name, then renamed."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def _path(self, sha: str) -> Path:
        """File of a hash."""
        return self.folder / key_of(sha)

    def put(self, data: bytes) -> str:
        """Store ``data`` atomically (temp file + rename); its SHA-256."""
        sha = sha256_of(data)
        path = self._path(sha)
        if path.is_file():
            return sha
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def get(self, sha: str) -> bytes:
        """The bytes of ``sha``; MediaNotFound when missing."""
        try:
            return self._path(sha).read_bytes()
        except FileNotFoundError:
            raise MediaNotFound(f"no media {sha}") from None

    def exists(self, sha: str) -> bool:
        """True when the file of ``sha`` is there."""
        return self._path(sha).is_file()


class S3Store:
    """A bucket of an S3-compatible object store (AWS S3, MinIO, Ceph ...), under a prefix.

    Credentials come from the usual ``AWS_*`` variables (or boto3's other sources).
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint: str | None = None,
                 region: str | None = None) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        region = region or os.environ.get("AWS_REGION") or os.environ.get(
            "AWS_DEFAULT_REGION") or "us-east-1"
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name=region)

    def _key(self, sha: str) -> str:
        """Object key of a hash."""
        key = key_of(sha)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, data: bytes) -> str:
        """Store ``data`` unless an object of the same hash is there; its SHA-256."""
        sha = sha256_of(data)
        if not self.exists(sha):
            with _unreachable():
                self.client.put_object(Bucket=self.bucket, Key=self._key(sha), Body=data)
        return sha

    def get(self, sha: str) -> bytes:
        """The object's bytes; MediaNotFound when missing."""
        key = self._key(sha)
        with _unreachable():
            try:
                obj = self.client.get_object(Bucket=self.bucket, Key=key)
            except self.client.exceptions.NoSuchKey:
                raise MediaNotFound(f"no media {sha}") from None
            return obj["Body"].read()

    def exists(self, sha: str) -> bool:
        """True when an object of ``sha`` is there (a listing: no error codes to read)."""
        key = self._key(sha)
        with _unreachable():
            got = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        return any(o.get("Key") == key for o in got.get("Contents", []))


@contextmanager
def _unreachable() -> Iterator[None]:
    """A store that cannot be reached (or refuses) is Unavailable, not a crash."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as e:
        raise Unavailable("媒体存储暂不可用，请稍后重试 (the media store is unreachable; "
                          "retry later)", code="media_unavailable") from e


def open_store(url: str) -> MediaStore:
    """The store a ``media_url`` names: ``s3://BUCKET/PREFIX?endpoint=...&region=...``, a
    ``file://`` URL or a plain folder path."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise InvalidInput.field("media_url", "s3:// needs a bucket name", "bad_media_url")
        query = parse_qs(parsed.query)
        return S3Store(parsed.netloc, unquote(parsed.path),
                       (query.get("endpoint") or [None])[0], (query.get("region") or [None])[0])
    if parsed.scheme == "file":
        return LocalStore(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:  # c:\... is a path, http:// is not a store
        raise InvalidInput.field("media_url", f"unknown media store {parsed.scheme}://; use a "
                                 "folder, file:// or s3://", "bad_media_url")
    return LocalStore(url)
