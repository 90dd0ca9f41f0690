"""The media store by content hash: a local folder, and an S3-compatible store reached over
HTTP (moto's S3 server started on a free local port) — the same assertions for both."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from gis.errors import InvalidInput, Unavailable
from gis.media.store import LocalStore, MediaNotFound, MediaStore, S3Store, key_of, open_store

SHA_OF_NOTHING_STORED = "0" * 64


def _free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible HTTP server on 127.0.0.1 with the bucket ``media``."""
    mp = pytest.MonkeyPatch()
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        mp.setenv(k, v)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
        Bucket="media")
    yield endpoint
    server.stop()
    mp.undo()


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path: Path) -> MediaStore:
    """Each kind of store, opened from its URL as the app does."""
    if request.param == "local":
        return open_store(str(tmp_path / "media"))
    endpoint = request.getfixturevalue("s3_endpoint")
    return open_store(f"s3://media/wangge/photos?endpoint={endpoint}")


def test_put_returns_the_sha256_and_get_gives_the_bytes_back(store) -> None:
    data = b"\xff\xd8 some photo bytes"
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.exists(sha) and store.get(sha) == data


def test_putting_the_same_bytes_twice_keeps_one_copy(store) -> None:
    data = b"the same voice note"
    assert store.put(data) == store.put(data)
    assert store.get(hashlib.sha256(data).hexdigest()) == data


def test_a_missing_or_malformed_hash_is_media_not_found(store) -> None:
    assert not store.exists(SHA_OF_NOTHING_STORED)
    with pytest.raises(MediaNotFound):
        store.get(SHA_OF_NOTHING_STORED)
    with pytest.raises(MediaNotFound):
        store.get("../../etc/passwd")


def test_local_files_are_fanned_out_by_hash_and_written_atomically(tmp_path) -> None:
    st = LocalStore(tmp_path)
    sha = st.put(b"abc")
    assert key_of(sha) == f"{sha[:2]}/{sha[2:4]}/{sha}"
    assert (tmp_path / sha[:2] / sha[2:4] / sha).read_bytes() == b"abc"
    assert not list(tmp_path.rglob(".tmp-*"))  # no temporary file left behind
    assert isinstance(open_store(f"file://{tmp_path}"), LocalStore)
    assert open_store(f"file://{tmp_path}").get(sha) == b"abc"


def test_s3_objects_are_kept_under_the_prefix(s3_endpoint) -> None:
    st = open_store(f"s3://media/wangge/photos?endpoint={s3_endpoint}")
    assert isinstance(st, S3Store)
    sha = st.put(b"prefixed")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    got = client.get_object(Bucket="media", Key=f"wangge/photos/{key_of(sha)}")
    assert got["Body"].read() == b"prefixed"


def test_an_unreachable_s3_store_is_unavailable_not_a_crash() -> None:
    st = open_store(f"s3://media?endpoint=http://127.0.0.1:{_free_port()}")
    st.client.meta.config.retries = {"max_attempts": 1}
    with pytest.raises(Unavailable) as e:
        st.put(b"x")
    assert e.value.code == "media_unavailable"


def test_an_unknown_store_url_is_refused() -> None:
    with pytest.raises(InvalidInput) as e:
        open_store("http://example.invalid/media")
    assert e.value.code == "bad_media_url"
