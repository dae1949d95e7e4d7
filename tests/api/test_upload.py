"""POST /upload: accepted, duplicate, refused files, limits and safe storage."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from rq import Queue

from common.models import UploadMetadata
from common.queue import connect
from services.api import create_app
from tests.builders import workbook
from tests.conftest import upload

GOOD = "Date,product_id,category,sales\n2023-01-01,p1,c1,3\n2023-01-02,p1,c1,4\n"


def stored_files(settings) -> list[Path]:
    root = Path(settings.upload_dir)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_upload_answers_202_and_queues_etl(client, redis):
    """A good file is accepted with its batch number and an ETL job named after the batch."""
    response = upload(client, GOOD)
    assert response.status_code == 202
    assert response.json == {"message": "file accepted", "batch_num": 1}
    assert Queue("etl", connection=redis).job_ids == ["etl-1"]


def test_exact_duplicate_answers_409_with_original_batch(client, settings):
    """The same bytes again get 409 and the first batch's number; one file stays stored."""
    first = upload(client, GOOD, "a.csv")
    second = upload(client, GOOD, "renamed.csv")
    assert second.status_code == 409
    assert second.json == {"error": "duplicate file", "batch_num": first.json["batch_num"]}
    assert len(stored_files(settings)) == 1


def test_stored_name_never_comes_from_the_client(client, settings, engine):
    """A path in the client's file name reaches neither the filesystem nor the display name."""
    response = upload(client, GOOD, "../../etc/evil\x00name.csv")
    assert response.status_code == 202
    (path,) = stored_files(settings)
    assert path.parent == Path(settings.upload_dir)
    assert path.name.endswith(".csv") and len(path.stem) == 64
    from sqlalchemy.orm import Session
    with Session(engine) as session:
        row = session.get(UploadMetadata, response.json["batch_num"])
    assert row.original_filename == "evilname.csv"


@pytest.mark.parametrize(("content", "filename", "status", "words"), [
    (b"", "empty.csv", 400, "empty"),
    (b"Date,product_id,category,sales\n", "header.csv", 400, "no data rows"),
    (b"Date,product,category,sales\n2023-01-01,a,b,1\n", "cols.csv", 400, "product_id"),
    (GOOD.encode(), "sales.txt", 415, "unsupported file type"),
    (GOOD.encode(), "sales.xls", 415, ".xlsx"),
    (b"\x89PNG\r\n\x1a\n" + bytes(200), "picture.xlsx", 415, "not an Excel workbook"),
    (bytes(range(256)) * 4, "junk.csv", 415, "binary"),
    (gzip.compress(GOOD.encode(), mtime=0), "sales.csv", 415, "compressed"),
    (GOOD.encode(), "sales.csv.gz", 415, "not gzip"),
    ("Date,product_id,category,sales\n2023-01-01,Café,c,1\n".encode("latin-1"), "latin.csv", 400, "UTF-8"),
])
def test_bad_files_are_refused_and_nothing_is_stored(client, settings, engine, content, filename, status, words):
    """Each whole-file problem gets its 4xx with a JSON reason, and leaves no file and no batch behind."""
    response = upload(client, content, filename)
    assert response.status_code == status
    assert words in response.json["error"]
    assert stored_files(settings) == []
    from sqlalchemy import func, select
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(UploadMetadata)) == 0


def test_missing_file_field_is_400(client):
    """A form without the `file` field is told which field to send."""
    response = client.post("/upload", data={"other": (io.BytesIO(b"x"), "a.csv")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "'file'" in response.json["error"]


def test_file_over_the_size_limit_is_413(settings, engine, redis, monkeypatch):
    """MAX_UPLOAD_MB is enforced while the file streams in; nothing stays on disk."""
    from dataclasses import replace
    small = replace(settings, max_upload_mb=1)
    client = create_app(small, engine=engine, redis=redis).test_client()
    body = GOOD + "2023-01-03,p1,c1,5\n" * 120_000  # ~2.3 MB
    response = upload(client, body)
    assert response.status_code == 413
    assert "1 MB" in response.json["error"]
    assert stored_files(small) == []


def test_gzip_and_xlsx_uploads_are_accepted(client):
    """Compressed CSV and Excel files pass the upload checks."""
    assert upload(client, gzip.compress(GOOD.encode(), mtime=0), "sales.csv.gz").status_code == 202
    book = workbook(("Sheet", [["Date", "product_id", "category", "sales"], ["2023-01-01", "p", "c", 1]]))
    assert upload(client, book, "sales.xlsx").status_code == 202


def test_redis_down_still_records_the_batch(settings, engine):
    """With Redis away the file is still accepted; the batch waits for the reconcile step."""
    dead = connect("redis://127.0.0.1:1/0")
    client = create_app(settings, engine=engine, redis=dead).test_client()
    response = upload(client, GOOD)
    assert response.status_code == 202
    assert client.get(f"/batches/{response.json['batch_num']}").json["status"] == "uploaded"
