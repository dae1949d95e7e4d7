"""The S3 upload store on moto's S3 server: streaming multipart uploads, reads, duplicates, failures."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from common.s3store import S3UploadStore, client_for
from common.storage import StoreUnavailable, open_store, stored_name
from tests.s3 import keys, open_uploads, s3_store_settings

MB = 1024 * 1024


@pytest.fixture
def store(settings, moto_endpoint, bucket, s3) -> S3UploadStore:
    """An S3 store on this test's bucket (prefix `uploads`)."""
    return open_store(s3_store_settings(settings, moto_endpoint, bucket))


def receive(store, data: bytes, piece: int = 64 * 1024):  # noqa: ANN001, ANN201
    """Feed `data` to a new pending upload in pieces, as the form parser does."""
    pending = store.begin(100 * MB)
    for start in range(0, len(data), piece):
        pending.write(data[start:start + piece])
    return pending


def publish(store, data: bytes) -> str:  # noqa: ANN001
    """Receive and publish `data`; its stored name."""
    pending = receive(store, data)
    name = stored_name(pending.sha256, ".csv")
    store.finish(pending, name)
    return name


def test_upload_store_setting_picks_s3(store):
    """UPLOAD_STORE=s3://bucket/prefix gives the S3 store on that bucket and prefix."""
    assert isinstance(store, S3UploadStore)
    assert store.config.prefix == "uploads/"


def test_published_object_has_the_bytes_under_its_content_name(store, s3, bucket):
    """A file larger than several parts is stored whole under prefix/<sha256>.csv, nothing else left."""
    data = os.urandom(12 * MB + 123)
    name = publish(store, data)
    assert name == stored_name(hashlib.sha256(data).hexdigest(), ".csv")
    assert keys(s3, bucket) == [f"uploads/{name}"]
    assert s3.get_object(Bucket=bucket, Key=f"uploads/{name}")["Body"].read() == data
    assert open_uploads(s3, bucket) == []


def test_parts_go_out_while_the_file_is_received(store, s3, bucket):
    """Bytes are sent a part at a time as they arrive: at most one part is buffered in memory."""
    sent = []
    store.client.meta.events.register("before-call.s3.UploadPart", lambda **kw: sent.append(1))
    pending = receive(store, os.urandom(11 * MB))
    assert len(sent) == 2
    assert len(pending.sink._buffer) < store.part_bytes
    store.abort(pending)


def test_empty_file_is_one_empty_part(store):
    """A zero-byte upload still completes (S3 needs one part) and can be dropped."""
    pending = receive(store, b"")
    with store.received(pending) as fileobj:
        assert fileobj.read() == b""
    store.abort(pending)


def test_duplicate_is_not_written_again(store, s3, bucket):
    """Publishing the same bytes twice copies once; the incoming object goes both times."""
    copies = []
    store.client.meta.events.register("before-call.s3.CopyObject", lambda **kw: copies.append(1))
    data = b"Date,product_id,category,sales\n2023-01-01,p,c,1\n"
    assert publish(store, data) == publish(store, data)
    assert len(copies) == 1
    assert len(keys(s3, bucket)) == 1


def test_aborted_upload_leaves_no_object(store, s3, bucket):
    """An upload dropped mid-way aborts its multipart upload; one dropped after completing is deleted."""
    store.abort(receive(store, os.urandom(6 * MB)))
    completed = receive(store, b"abc")
    with store.received(completed) as fileobj:
        assert fileobj.read() == b"abc"
    store.abort(completed)
    assert keys(s3, bucket) == []
    assert open_uploads(s3, bucket) == []


def test_reader_seeks_and_streams_like_a_file(store):
    """open() gives a seekable stream: reads after seeks match the stored bytes."""
    data = os.urandom(3 * MB)
    name = publish(store, data)
    with store.open(name) as fileobj:
        assert fileobj.read(8) == data[:8]
        assert fileobj.seek(0, io.SEEK_END) == len(data)
        fileobj.seek(MB + 5)
        assert fileobj.read(100) == data[MB + 5:MB + 105]
        fileobj.seek(0)
        assert fileobj.read() == data
        assert fileobj.read(10) == b""


def test_read_across_the_head_joins_head_and_stream(store):
    """A read that starts in the first GET's head and goes past it returns the bytes in order."""
    data = os.urandom(3 * MB)
    name = publish(store, data)
    with store.open(name) as fileobj:
        fileobj.read(10)
        assert fileobj.read(2 * MB) == data[10:10 + 2 * MB]
        assert fileobj.read(4 * MB) == data[10 + 2 * MB:]


def test_checking_then_reading_a_file_takes_two_gets(store):
    """The upload checks (first megabyte, seek back) and the full read cost one small GET and one stream."""
    from common.fileformat import FileKind, inspect_file

    gets = []
    store.client.meta.events.register("before-call.s3.GetObject", lambda **kw: gets.append(1))
    body = b"Date,product_id,category,sales\n" + b"2023-01-01,p1,c1,3\n" * 200_000
    name = publish(store, body)
    with store.open(name) as fileobj:
        inspect_file(fileobj, FileKind.CSV, 2**31)
        assert fileobj.read() == body
    assert len(gets) == 2


def test_exists_and_delete(store):
    """exists() follows publish and delete; deleting a missing object is no error."""
    name = publish(store, b"x,y\n")
    assert store.exists(name)
    store.delete(name)
    store.delete(name)
    assert not store.exists(name)


def test_missing_object_opens_as_file_not_found(store):
    """A stored name without its object reads as FileNotFoundError (the ETL's 'no longer stored')."""
    with pytest.raises(FileNotFoundError), store.open(stored_name("0" * 64, ".csv")):
        pass


def test_names_castflow_did_not_make_are_refused(store):
    """Only <sha256><suffix> names reach S3 keys."""
    with pytest.raises(ValueError, match="not a stored upload name"):
        store.exists("../other-prefix/secret.csv")


def test_missing_bucket_is_unavailable_with_the_reason(settings, moto_endpoint):
    """A bucket that does not exist fails begin() and check() with StoreUnavailable naming it."""
    store = open_store(s3_store_settings(settings, moto_endpoint, "castflow-no-such-bucket"))
    with pytest.raises(StoreUnavailable, match="'castflow-no-such-bucket' does not exist"):
        store.begin(MB)
    with pytest.raises(StoreUnavailable, match="does not exist"):
        store.check()


@pytest.fixture
def silent_endpoint():
    """A TCP endpoint that accepts connections and never answers; its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_endpoint_that_times_out_is_unavailable_within_the_timeout(settings, silent_endpoint):
    """An endpoint that never answers fails within S3_TIMEOUT_SECONDS per attempt (two attempts)."""
    slow = s3_store_settings(settings, silent_endpoint, "castflow-bucket")
    store = open_store(dataclasses.replace(slow, s3_timeout_seconds=0.5))
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="timed out"):
        store.check()
    assert time.monotonic() - started < 10


def test_one_client_per_process(store):
    """Stores built from the same settings share the process's one S3 client."""
    assert client_for(store.config) is client_for(store.config) is store.client


def test_castflow_imports_boto3_only_for_an_s3_store():
    """The API, the ETL job and the local store import without boto3 (it costs memory in every process)."""
    code = ("import sys, services.api, services.etl.jobs, common.storage; "
            "from common.config import Settings; common.storage.open_store(Settings()); "
            "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
