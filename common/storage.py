"""Where uploaded files live: a local directory (UPLOAD_DIR) or an S3-compatible bucket (UPLOAD_STORE).

Files are content-addressed: a stored name is the file's SHA-256 plus its kind's suffix, chosen by
castflow, so no client-supplied path ever reaches the filesystem and two identical uploads racing
each other write the same bytes to the same name. Stored files are read by the ETL only; no
endpoint serves them back to a client.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from common.config import Settings

#: Stored names castflow creates: `<sha256><suffix>`; anything else is refused.
_NAME = re.compile(r"^[0-9a-f]{64}\.(csv|csv\.gz|xlsx)$")


class UploadTooLarge(Exception):
    """The file grew past the configured limit while it was being received."""


class StoreUnavailable(OSError):
    """The upload store cannot be reached or refuses the operation; the message says why (no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(errno.EIO, reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class PendingUpload:
    """A file being received: written to a temporary place while its SHA-256 and size are computed."""

    def __init__(self, fileobj: BinaryIO, path: Path | None, max_bytes: int) -> None:
        self._file = fileobj  # the store's sink: a local temporary file, or an S3 multipart upload
        self.path = path  # where a local store keeps it while it is received; None for an object store
        self.max_bytes = max_bytes
        self.done = False  # published or dropped by the store: nothing left to clean up
        self.size = 0
        self._hash = hashlib.sha256()
        self.head = b""  # the first bytes, kept for cheap format sniffing

    def write(self, data: bytes) -> int:
        """Append `data`, raising UploadTooLarge past the limit."""
        self.size += len(data)
        if self.size > self.max_bytes:
            raise UploadTooLarge(f"file is larger than {self.max_bytes // (1024 * 1024)} MB")
        if len(self.head) < 65536:
            self.head += data[: 65536 - len(self.head)]
        self._hash.update(data)
        return self._file.write(data)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of what was written so far."""
        return self._hash.hexdigest()

    @property
    def sink(self) -> BinaryIO:
        """Where the received bytes go (the store's own object)."""
        return self._file

    def close(self) -> None:
        """Flush and close the sink, making the received bytes durable (idempotent)."""
        if not self._file.closed:
            self._file.flush()
            if self.path is not None:
                os.fsync(self._file.fileno())
            self._file.close()

    # werkzeug's form parser treats the stream factory's result as a file object
    def seek(self, *args: int) -> int:
        """Form parsers rewind file streams after writing; nothing to do for a write-only sink."""
        return 0

    def flush(self) -> None:
        """Flush the underlying file."""
        self._file.flush()


class UploadStore(Protocol):
    """What the API and the ETL need from wherever uploads are kept."""

    def begin(self, max_bytes: int) -> PendingUpload: ...
    def received(self, pending: PendingUpload) -> contextlib.AbstractContextManager[BinaryIO]: ...
    def finish(self, pending: PendingUpload, name: str) -> None: ...
    def abort(self, pending: PendingUpload) -> None: ...
    def open(self, name: str) -> contextlib.AbstractContextManager[BinaryIO]: ...
    def exists(self, name: str) -> bool: ...
    def delete(self, name: str) -> None: ...
    def check(self) -> None: ...


class LocalUploadStore:
    """Uploads in a local directory (UPLOAD_DIR); in-flight files in its `.incoming/` subdirectory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.incoming = self.root / ".incoming"

    def begin(self, max_bytes: int) -> PendingUpload:
        """Start receiving a file of at most `max_bytes`."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(dir=self.incoming, prefix="upload-")
        return PendingUpload(os.fdopen(fd, "wb"), Path(path), max_bytes)

    @contextmanager
    def received(self, pending: PendingUpload) -> Iterator[BinaryIO]:
        """The received bytes, for checking before they are published (seekable)."""
        pending.close()
        with open(pending.path, "rb") as fileobj:
            yield fileobj

    def finish(self, pending: PendingUpload, name: str) -> None:
        """Publish the received file under `name` (atomic rename)."""
        pending.close()
        os.replace(pending.path, self._path(name))
        pending.done = True

    def abort(self, pending: PendingUpload) -> None:
        """Drop a file that will not be kept (idempotent)."""
        with contextlib.suppress(OSError):  # a full disk can fail the flush too; the file goes anyway
            pending.close()
        pending.path.unlink(missing_ok=True)
        pending.done = True

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """Open a stored file for reading (seekable)."""
        with open(self._path(name), "rb") as fileobj:
            yield fileobj

    def exists(self, name: str) -> bool:
        """True when `name` is stored."""
        return self._path(name).is_file()

    def delete(self, name: str) -> None:
        """Remove a stored file (no error when it is already gone)."""
        self._path(name).unlink(missing_ok=True)

    def check(self) -> None:
        """StoreUnavailable unless the directory can take new files."""
        try:
            self.incoming.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"the upload directory cannot be created ({exc.strerror})") from None
        if not os.access(self.incoming, os.W_OK | os.X_OK):
            raise StoreUnavailable("the upload directory is not writable")

    def _path(self, name: str) -> Path:
        return self.root / check_name(name)


def check_name(name: str) -> str:
    """`name` itself when it is a name castflow stores uploads under; ValueError otherwise."""
    if not _NAME.match(name):
        raise ValueError(f"not a stored upload name: {name!r}")
    return name


def stored_name(sha256: str, suffix: str) -> str:
    """The name a file with this hash and kind is stored under."""
    return f"{sha256}{suffix}"


def open_store(settings: Settings) -> UploadStore:
    """The store UPLOAD_STORE names: S3 for s3://bucket/prefix, else the UPLOAD_DIR directory."""
    if settings.upload_store.startswith("s3://"):
        from common.s3store import S3UploadStore  # imported here: boto3 costs memory only where S3 is used

        return S3UploadStore.from_settings(settings)
    return LocalUploadStore(settings.upload_dir)
