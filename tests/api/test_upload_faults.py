"""POST /upload when the upload store fails: 507 when it is full, 503 when it cannot be written; nothing left behind.

Root ignores file permissions, so the failures are simulated with a store whose writes raise; the real
full filesystem is tested in tests/integration/test_faults_disk.py.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from common.models import UploadMetadata
from common.storage import LocalUploadStore, PendingUpload
from services.api import create_app
from tests.conftest import upload

GOOD = "Date,product_id,category,sales\n" + "".join(f"2023-01-{d:02d},p,c,{d}\n" for d in range(1, 29))


class FailingFile:
    """A file object that accepts `room` bytes, then fails every write with `error` (a full or broken disk)."""

    def __init__(self, real, room: int, error: OSError) -> None:  # noqa: ANN001 - a binary file object
        self._real = real
        self.room = room
        self.error = error

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise self.error
        self.room -= len(data)
        return self._real.write(data)

    def __getattr__(self, name: str):  # noqa: ANN204 - flush, fileno, close, closed of the real file
        return getattr(self._real, name)


class FaultyStore(LocalUploadStore):
    """The local store, with one operation failing the way a full or unwritable disk makes it fail."""

    def __init__(self, root: Path, *, at: str, error: OSError, room: int = 0) -> None:
        super().__init__(root)
        self.at, self.error, self.room = at, error, room

    def begin(self, max_bytes: int) -> PendingUpload:
        if self.at == "begin":
            raise self.error
        pending = super().begin(max_bytes)
        if self.at == "write":
            pending._file = FailingFile(pending._file, self.room, self.error)
        return pending

    def finish(self, pending: PendingUpload, name: str) -> None:
        if self.at == "finish":
            pending.close()
            raise self.error
        super().finish(pending, name)


def full() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def refused() -> OSError:
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES))


def files_in(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def batches(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(UploadMetadata))


@pytest.mark.parametrize(("at", "error", "status", "words"), [
    ("write", full(), 507, "full"),
    ("begin", full(), 507, "full"),
    ("write", refused(), 503, "not writable"),
    ("begin", refused(), 503, "not writable"),
    ("finish", refused(), 503, "not writable"),
    ("write", OSError(errno.EROFS, os.strerror(errno.EROFS)), 503, "not writable"),
])
def test_a_failing_upload_store_gets_a_json_answer_and_keeps_nothing(settings, engine, redis, tmp_path, at, error,
                                                                     status, words):
    """ENOSPC is 507, any other write failure 503, with a reason; no partial file and no batch row stay."""
    root = tmp_path / "store"
    store = FaultyStore(root, at=at, error=error, room=100)
    client = create_app(settings, engine=engine, redis=redis, store=store).test_client()
    response = upload(client, GOOD)
    assert response.status_code == status
    assert words in response.json["error"] and "nothing was stored" in response.json["error"]
    assert files_in(root) == []
    assert batches(engine) == 0


def test_disk_full_when_the_last_bytes_are_flushed_is_507(settings, engine, redis, tmp_path, monkeypatch):
    """A disk that fills up only when the received file is flushed (fsync) still answers 507 and keeps nothing."""
    root = tmp_path / "store"
    client = create_app(settings, engine=engine, redis=redis, store=LocalUploadStore(root)).test_client()

    def no_room(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("common.storage.os.fsync", no_room)
    response = upload(client, GOOD)
    assert response.status_code == 507
    assert files_in(root) == []
    assert batches(engine) == 0


def test_the_store_works_again_once_there_is_room(settings, engine, redis, tmp_path):
    """After a 507 the same file is accepted as new once the store can write: the refusal recorded nothing."""
    root = tmp_path / "store"
    store = FaultyStore(root, at="write", error=full(), room=100)
    client = create_app(settings, engine=engine, redis=redis, store=store).test_client()
    assert upload(client, GOOD).status_code == 507
    store.at = ""
    response = upload(client, GOOD)
    assert response.status_code == 202
    assert len(files_in(root)) == 1
