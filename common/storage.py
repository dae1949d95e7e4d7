"""Where uploaded files live. Today a local directory; the interface is small enough for an object store.

Files are content-addressed: a stored name is the file's SHA-256 plus its kind's suffix, chosen by
castflow, so no client-supplied path ever reaches the filesystem and two identical uploads racing
each other write the same bytes to the same name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

#: Stored names castflow creates: `<sha256><suffix>`; anything else is refused.
_NAME = re.compile(r"^[0-9a-f]{64}\.(csv|csv\.gz|xlsx)$")


class UploadTooLarge(Exception):
    """The file grew past the configured limit while it was being received."""


class PendingUpload:
    """A file being received: written to a temporary place while its SHA-256 and size are computed."""

    def __init__(self, fileobj: BinaryIO, path: Path, max_bytes: int) -> None:
        self._file = fileobj
        self.path = path
        self.max_bytes = max_bytes
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

    def close(self) -> None:
        """Flush and close the temporary file (idempotent)."""
        if not self._file.closed:
            self._file.flush()
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
    def finish(self, pending: PendingUpload, name: str) -> None: ...
    def abort(self, pending: PendingUpload) -> None: ...
    def open(self, name: str) -> Iterator[BinaryIO]: ...
    def exists(self, name: str) -> bool: ...
    def delete(self, name: str) -> None: ...


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

    def finish(self, pending: PendingUpload, name: str) -> None:
        """Publish the received file under `name` (atomic rename)."""
        pending.close()
        os.replace(pending.path, self._path(name))

    def abort(self, pending: PendingUpload) -> None:
        """Drop a file that will not be kept."""
        with contextlib.suppress(OSError):  # a full disk can fail the flush too; the file goes anyway
            pending.close()
        pending.path.unlink(missing_ok=True)

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

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"not a stored upload name: {name!r}")
        return self.root / name


def stored_name(sha256: str, suffix: str) -> str:
    """The name a file with this hash and kind is stored under."""
    return f"{sha256}{suffix}"
