"""A multipart/form-data body streamed from a file: its length is known up front, its bytes read in chunks."""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from services.cli.errors import CliError, ExitCode

#: Bytes read from the file and sent at a time: large enough to be fast, small enough to keep memory flat.
CHUNK_BYTES = 256 * 1024


def _quote(value: str) -> str:
    # What browsers do with a form field's name or file name (HTML's multipart/form-data algorithm).
    return value.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


class MultipartBody:
    """The form fields then the file part `field`; iterate it to get the bytes, `len()` for Content-Length."""

    def __init__(self, path: Path, fields: Mapping[str, str] | None = None, *, field: str = "file",
                 chunk_bytes: int = CHUNK_BYTES, boundary: str | None = None) -> None:
        self.path = path
        self.chunk_bytes = chunk_bytes
        self.boundary = boundary or f"castflow-{uuid.uuid4().hex}"
        self.file_size = path.stat().st_size
        self._head = self._fields(fields or {}) + self._file_header(field, path.name)
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        """The Content-Type header naming this body's boundary."""
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self._head) + self.file_size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        sent = 0
        with self.path.open("rb") as source:
            while chunk := source.read(self.chunk_bytes):
                sent += len(chunk)
                if sent > self.file_size:
                    break
                yield chunk
        if sent != self.file_size:
            # The announced Content-Length would be a lie: stop rather than send a corrupt upload.
            raise CliError(f"{self.path} changed while it was being sent; try again", ExitCode.FAILED)
        yield self._tail

    def _fields(self, fields: Mapping[str, str]) -> bytes:
        parts = [f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'
                 f"{value}\r\n" for name, value in fields.items()]
        return "".join(parts).encode()

    def _file_header(self, field: str, filename: str) -> bytes:
        guessed, encoding = mimetypes.guess_type(filename)
        content_type = "application/octet-stream" if encoding or not guessed else guessed
        return (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(field)}"; '
                f'filename="{_quote(filename)}"\r\nContent-Type: {content_type}\r\n\r\n').encode()
