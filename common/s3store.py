"""Uploads in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2): UPLOAD_STORE=s3://bucket/prefix.

An upload streams into a multipart upload under `<prefix>.incoming/` while the API hashes it, one
part (S3_PART_MB) in memory at a time. Once it is received and checked, it is copied server-side
to its content-addressed name, unless that object already exists (a duplicate is never written
twice), and the incoming object goes. A refused or broken upload aborts its multipart upload, so
it leaves no object. The ETL reads a stored object as a seekable stream of ranged GETs.

boto3's import and its S3 client cost ~20 MB per process, so this module is imported only when
UPLOAD_STORE names a bucket, and each process builds one client, on first use.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from common.config import Settings
from common.fileformat import HEADER_SCAN_BYTES
from common.storage import PendingUpload, StoreUnavailable, check_name

logger = logging.getLogger(__name__)

#: Subfolder of the prefix that holds uploads still being received or checked.
INCOMING = ".incoming/"
#: Error codes S3 gives for a key that is not there (GET answers NoSuchKey, HEAD a bare 404).
_MISSING_KEY = ("NoSuchKey", "404", "NotFound")
#: Bytes of an object read with its first GET: the file checks read up to HEADER_SCAN_BYTES and seek back.
HEAD_BYTES = HEADER_SCAN_BYTES + 64 * 1024
_CREDENTIALS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
                "InvalidClientTokenId", "AuthorizationHeaderMalformed")


@dataclass(frozen=True)
class S3Config:
    """Where the bucket is and how to reach it: the client's settings, hashable so each process builds one."""

    bucket: str
    prefix: str
    endpoint_url: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None
    addressing_style: str
    timeout_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Config:
        """UPLOAD_STORE's bucket and prefix, with the S3_* settings (or their AWS_* fallbacks)."""
        bucket, _, prefix = settings.upload_store.removeprefix("s3://").partition("/")
        prefix = prefix.strip("/")
        style = settings.s3_addressing_style or ("path" if settings.s3_endpoint_url else "auto")
        return cls(bucket=bucket, prefix=f"{prefix}/" if prefix else "",
                   endpoint_url=settings.s3_endpoint_url or None, region=settings.s3_region or "us-east-1",
                   access_key_id=settings.s3_access_key_id or None,
                   secret_access_key=settings.s3_secret_access_key or None,
                   addressing_style=style, timeout_s=settings.s3_timeout_seconds)


_clients: dict[S3Config, Any] = {}
_clients_lock = threading.Lock()


def client_for(config: S3Config) -> Any:  # noqa: ANN401 - botocore builds the client class at run time
    """This process's S3 client for `config` (built once: a client is thread-safe and costs ~8 MB)."""
    with _clients_lock:
        if config not in _clients:
            _clients[config] = _new_client(config)
        return _clients[config]


def _new_client(config: S3Config) -> Any:  # noqa: ANN401
    import boto3
    import botocore.session
    from botocore.config import Config
    from botocore.loaders import Loader

    core = botocore.session.Session()
    core.register_component("data_loader", Loader(file_loader=_slim_file_loader()))
    return boto3.session.Session(botocore_session=core).client(
        "s3", endpoint_url=config.endpoint_url, region_name=config.region,
        aws_access_key_id=config.access_key_id, aws_secret_access_key=config.secret_access_key,
        config=Config(
            connect_timeout=config.timeout_s, read_timeout=config.timeout_s,
            retries={"mode": "standard", "total_max_attempts": 2},
            s3={"addressing_style": config.addressing_style},
            # boto3 1.36 sends CRC checksums by default, which several S3-compatible servers refuse.
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
        ),
    )


def _slim_file_loader():  # noqa: ANN202 - a botocore JSONFileLoader
    """botocore's data files as the client needs them, ~8 MB lighter than botocore reads them itself.

    botocore parses its JSON models into OrderedDicts (plain dicts keep order too, in less memory),
    keeps every shape's documentation text (only help() shows it), and reads the endpoints of every AWS
    service (6.7 MB parsed) when this client needs S3's alone.
    """
    import gzip
    import json
    import os

    from botocore.loaders import JSONFileLoader

    def without_docs(obj: dict) -> dict:
        if "documentation" in obj:
            obj["documentation"] = ""  # some code reads the key: keep it, drop the text
        return obj

    class SlimFileLoader(JSONFileLoader):
        def load_file(self, file_path: str) -> dict | None:
            for ext, opener in ((".json", open), (".json.gz", gzip.open)):
                if os.path.isfile(file_path + ext):
                    with opener(file_path + ext, "rb") as fp:
                        data = json.loads(fp.read(), object_hook=without_docs)
                    return _s3_endpoints_only(data) if os.path.basename(file_path) == "endpoints" else data
            return None

    return SlimFileLoader()


def _s3_endpoints_only(endpoints: dict) -> dict:
    for partition in endpoints.get("partitions", []):
        partition["services"] = {k: v for k, v in partition.get("services", {}).items() if k == "s3"}
    return endpoints


def describe(exc: Exception, bucket: str) -> str:
    """A readable reason for a failed S3 call, without credentials in it."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        code = _error_code(exc)
        if code == "NoSuchBucket":
            return f"bucket {bucket!r} does not exist"
        if code in ("AccessDenied", "AllAccessDisabled", "403"):
            return f"access to bucket {bucket!r} is denied"
        if code in _CREDENTIALS:
            return f"the S3 credentials were refused ({code})"
        return f"S3 answered {code or exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode')}"
    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)):
        return "the S3 endpoint timed out"
    if isinstance(exc, EndpointConnectionError):
        return "the S3 endpoint cannot be reached"
    if isinstance(exc, NoCredentialsError):
        return "no S3 credentials are configured (S3_ACCESS_KEY_ID / AWS_ACCESS_KEY_ID)"
    return f"S3 request failed ({type(exc).__name__})"


def _error_code(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""


def _is_missing_key(exc: Exception) -> bool:
    return _error_code(exc) in _MISSING_KEY


class NothingInRange(Exception):
    """A ranged GET asked for bytes the object does not have (any range of an empty object)."""


class S3UploadStore:
    """Uploads as objects `<prefix><sha256><suffix>` in one bucket."""

    def __init__(self, config: S3Config, part_bytes: int, client: Any = None) -> None:  # noqa: ANN401
        self.config = config
        self.part_bytes = part_bytes
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> S3UploadStore:
        """The store UPLOAD_STORE and the S3_* settings describe (the client is built on first use)."""
        return cls(S3Config.from_settings(settings), settings.s3_part_mb * 1024 * 1024)

    @property
    def client(self) -> Any:  # noqa: ANN401
        """The process's S3 client."""
        if self._client is None:
            self._client = client_for(self.config)
        return self._client

    def call(self, operation: str, **params: object) -> dict:
        """Run one S3 operation; StoreUnavailable (with the reason) when it fails, FileNotFoundError for no key."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(Bucket=self.config.bucket, **params)
        except (BotoCoreError, ClientError) as exc:
            if _is_missing_key(exc):
                raise FileNotFoundError(f"no object {params.get('Key')!r}") from None
            if _error_code(exc) == "InvalidRange":
                raise NothingInRange from None
            raise StoreUnavailable(describe(exc, self.config.bucket)) from exc

    def begin(self, max_bytes: int) -> PendingUpload:
        """Start a multipart upload of at most `max_bytes` under the incoming prefix."""
        key = f"{self.config.prefix}{INCOMING}{uuid.uuid4().hex}"
        return PendingUpload(MultipartSink(self, key), None, max_bytes)

    @contextmanager
    def received(self, pending: PendingUpload) -> Iterator[BinaryIO]:
        """The received bytes (the completed incoming object), for checking before they are published."""
        pending.close()
        with self._reader(pending.sink.key) as fileobj:
            yield fileobj

    def finish(self, pending: PendingUpload, name: str) -> None:
        """Publish the received object under `name` unless it is already there; drop the incoming object."""
        pending.close()
        key = self._key(name)
        if not self.exists(name):
            self.call("copy_object", Key=key, CopySource={"Bucket": self.config.bucket, "Key": pending.sink.key})
        self.call("delete_object", Key=pending.sink.key)
        pending.done = True

    def abort(self, pending: PendingUpload) -> None:
        """Drop an upload that will not be kept: abort its multipart upload or delete its incoming object."""
        try:
            pending.sink.discard()
        except StoreUnavailable as exc:
            # Nothing is published under a stored name; a lifecycle rule on .incoming/ clears what is left.
            logger.warning("could not drop incoming upload key=%s (%s)", pending.sink.key, exc)
        pending.done = True

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """Open a stored object for streaming reads (seekable); FileNotFoundError when it is gone."""
        with self._reader(self._key(name)) as fileobj:
            yield fileobj

    def exists(self, name: str) -> bool:
        """True when `name` is stored."""
        try:
            self.call("head_object", Key=self._key(name))
        except FileNotFoundError:
            return False
        return True

    def delete(self, name: str) -> None:
        """Remove a stored object (no error when it is already gone)."""
        self.call("delete_object", Key=self._key(name))

    def check(self) -> None:
        """StoreUnavailable unless the bucket takes new uploads (a multipart upload started and aborted)."""
        key = f"{self.config.prefix}{INCOMING}ready-check"
        upload = self.call("create_multipart_upload", Key=key)
        self.call("abort_multipart_upload", Key=key, UploadId=upload["UploadId"])

    @contextmanager
    def _reader(self, key: str) -> Iterator[BinaryIO]:
        # Unbuffered: the ETL reads megabytes at a time, and a buffer would copy each read once more.
        raw = ObjectReader(self, key)
        try:
            yield raw
        finally:
            raw.close()

    def _key(self, name: str) -> str:
        return f"{self.config.prefix}{check_name(name)}"


class MultipartSink:
    """A write-only file that sends its bytes as the parts of one multipart upload, a part at a time.

    Not an io.IOBase: that would complete the upload when garbage-collected; only close() does.
    """

    def __init__(self, store: S3UploadStore, key: str) -> None:
        self.store, self.key = store, key
        self.upload_id = store.call("create_multipart_upload", Key=key)["UploadId"]
        self._buffer = bytearray()
        self._parts: list[dict] = []
        self.closed = False
        self.completed = False

    def write(self, data: bytes) -> int:
        """Buffer `data`; send a part whenever a part's worth is buffered."""
        self._buffer += data
        if len(self._buffer) >= self.store.part_bytes:
            self._send_part()
        return len(data)

    def flush(self) -> None:
        """Parts go out when full or at close(): nothing to do."""

    def close(self) -> None:
        """Send the last part and complete the upload: the incoming object exists from here on."""
        if self.closed:
            return
        if self._buffer or not self._parts:
            self._send_part()
        self.store.call("complete_multipart_upload", Key=self.key, UploadId=self.upload_id,
                        MultipartUpload={"Parts": self._parts})
        self.completed = self.closed = True

    def discard(self) -> None:
        """Leave no object: abort the multipart upload, or delete the object once it was completed."""
        self._buffer = bytearray()
        was_completed, self.closed = self.completed, True  # closed first: never completed after this
        if was_completed:
            self.store.call("delete_object", Key=self.key)
        else:
            self.store.call("abort_multipart_upload", Key=self.key, UploadId=self.upload_id)

    def _send_part(self) -> None:
        number = len(self._parts) + 1
        body, self._buffer = bytes(self._buffer), bytearray()
        answer = self.store.call("upload_part", Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body)
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})


class ObjectReader(io.RawIOBase):
    """A stored object as a seekable raw stream: its head from one small ranged GET, the rest streamed.

    The checks of a file read its first megabyte and seek back to the start, twice; the head keeps
    them off the network, so reading a whole object takes two GETs (a seek elsewhere starts another).
    """

    def __init__(self, store: S3UploadStore, key: str) -> None:
        super().__init__()
        self.store, self.key = store, key
        self._position = 0
        self._body = None
        try:
            answer = store.call("get_object", Key=key, Range=f"bytes=0-{HEAD_BYTES - 1}")
        except NothingInRange:  # an empty object has no byte 0
            self._head, self._size = b"", 0
            return
        self._head = answer["Body"].read()
        self._size = int(answer.get("ContentRange", "").rpartition("/")[2] or len(self._head))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to `offset`; a later read past the head starts a new ranged GET there."""
        target = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence] + offset
        if target != self._position:
            self._drop_body()
            self._position = max(target, 0)
        return self._position

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left for -1), from the head or straight from the response."""
        if size is None or size < 0:
            return self.readall()
        if self._position >= self._size or size == 0:
            return b""
        if self._position >= len(self._head):
            return self._stream(size)
        data = self._head[self._position:self._position + size]
        self._position += len(data)
        if len(data) < size and self._position < self._size:
            data += self._stream(size - len(data))
        return data

    def _stream(self, size: int) -> bytes:
        from botocore.exceptions import BotoCoreError

        if self._body is None:
            self._body = self.store.call("get_object", Key=self.key, Range=f"bytes={self._position}-")["Body"]
        try:
            data = self._body.read(size)
        except BotoCoreError as exc:  # a connection broken or timed out mid-stream
            raise StoreUnavailable(describe(exc, self.store.config.bucket)) from exc
        self._position += len(data)
        return data

    def readinto(self, buffer: memoryview) -> int:
        """Fill `buffer` from the object's stream; 0 at the end."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._drop_body()
        super().close()

    def _drop_body(self) -> None:
        if self._body is not None:
            with contextlib.suppress(Exception):
                self._body.close()
            self._body = None
